using System.Collections.Generic;

namespace ModelGen.Tool.Planning
{
    // The plan as data: what the console table, the JSON (docs/tool.md, Output/plan.schema.json) and the charts show.
    // Every byte count is exact (long), from ModelGen.Memory; GB strings are Breakdown's, as the diagnostics print them.

    /// <summary>The whole output of <c>modelgen plan</c>.</summary>
    internal sealed record PlanReport(string SchemaVersion, string Input, List<ModelPlan> Models)
    {
        /// <summary>True when some scenario with a budget does not fit it.</summary>
        public bool AnyOverBudget => Models.Exists(m => m.Scenarios.Exists(s => s.Fits == false));

        /// <summary>True when some scenario could not be estimated (its settings are invalid).</summary>
        public bool AnyProblem => Models.Exists(m => m.Scenarios.Exists(s => s.Estimate is null));
    }

    /// <summary>One model and its scenarios.</summary>
    internal sealed record ModelPlan(string Name, string Source, long ParameterCount, long TrainableParameterCount, List<ScenarioPlan> Scenarios);

    /// <summary>One scenario: its settings, the budget it was settled to, the estimate and what follows from it.</summary>
    /// <param name="Origin">Where it comes from: <c>[VramBudget] 1</c> (declaration order) or <c>command line</c>.</param>
    /// <param name="Settings">The scenario as estimated, after the command line's changes.</param>
    /// <param name="Budget">The budget, when one is known.</param>
    /// <param name="Problems">Diagnostics that stop the estimate (invalid settings) or leave the budget unknown (MG0114).</param>
    /// <param name="Estimate">The memory model's result; null when a problem stops it.</param>
    /// <param name="Fits">Whether the peak is within the budget; null without a budget.</param>
    /// <param name="HeadroomBytes">Budget minus peak (negative when over); null without a budget.</param>
    /// <param name="MaxSequenceLength">The largest sequence length that fits (Fit.MaxSequenceLength); null without a budget.</param>
    /// <param name="MaxBatch">The largest batch that fits (Fit.MaxBatch); null without a budget.</param>
    /// <param name="Cards">Catalog cards it fits on and how many (the analyzers' MG0004).</param>
    /// <param name="Remedies">Single changes that lower the peak (Remedies.Find), best first; empty without a budget.</param>
    /// <param name="Diagnostics">The budget diagnostics the analyzers report for this scenario (MG0001–MG0005), message text included.</param>
    /// <param name="SequenceSweep">Peak against sequence length, for the chart.</param>
    internal sealed record ScenarioPlan(
        string Origin,
        ScenarioSettings Settings,
        BudgetInfo? Budget,
        List<DiagnosticText> Problems,
        EstimateInfo? Estimate,
        bool? Fits,
        long? HeadroomBytes,
        long? MaxSequenceLength,
        long? MaxBatch,
        List<CardInfo> Cards,
        List<RemedyInfo> Remedies,
        List<DiagnosticText> Diagnostics,
        List<SweepPoint> SequenceSweep);

    /// <summary>A scenario's settings.</summary>
    internal sealed record ScenarioSettings(
        string Workload, long SequenceLength, long Batch, string Optimizer, int TensorParallel, int DataParallel, int ZeroStage,
        bool OffloadOptimizer, bool OffloadParameters, bool SequenceParallel, string Text);

    /// <summary>The settled budget.</summary>
    /// <param name="Gigabytes">GB (2^30 bytes) as settled.</param>
    /// <param name="Bytes">The same in bytes, as the analyzers compare it.</param>
    /// <param name="Gpu">The catalog card, when the budget names one.</param>
    /// <param name="Source">Where the size came from: <c>attribute</c>, <c>project GPU</c>, <c>project gigabytes</c>, <c>command line</c>.</param>
    internal sealed record BudgetInfo(double Gigabytes, long Bytes, string? Gpu, string Source);

    /// <summary>The estimate: peak, peak phase, the breakdown as MG0001 prints it, and every phase by term.</summary>
    internal sealed record EstimateInfo(
        long PeakBytes, string PeakGigabytes, string PeakPhase, string BreakdownText, long HostBytes, List<PhaseInfo> Phases);

    /// <summary>One phase's peak and its terms (weights, gradients, optimizer, activations, transients, kv cache, overhead).</summary>
    internal sealed record PhaseInfo(string Phase, long PeakBytes, Dictionary<string, long> Terms);

    /// <summary>A catalog card the scenario fits on.</summary>
    internal sealed record CardInfo(string Card, double MemoryGigabytes, int Devices, string Spread, long PeakBytes, double IndicativePriceUsd);

    /// <summary>A computed remedy.</summary>
    internal sealed record RemedyInfo(string Kind, string Description, long PeakBytes, long SavingBytes, bool Fits);

    /// <summary>A diagnostic as the compiler would print it.</summary>
    internal sealed record DiagnosticText(string Id, string Message);

    /// <summary>One point of the sequence-length sweep.</summary>
    internal sealed record SweepPoint(long SequenceLength, long PeakBytes);
}
