using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelGen.Analyzers.Budgets;
using ModelGen.Analyzers.Checks;
using SpecChecks = ModelGen.Analyzers.Checks.SpecChecks;
using ModelGen.Diagnostics;
using ModelGen.Memory;
using ModelGen.Specs;
using ModelGen.Tool.Loading;

namespace ModelGen.Tool.Planning
{
    /// <summary>
    /// Computes a plan with exactly the calls the analyzers make: <see cref="ModelGen.Analyzers.Checks.SpecChecks"/> for invalid settings,
    /// <see cref="BudgetResolver"/> to settle a budget, <see cref="MemoryModel.Estimate"/> on <see cref="DeviceProfile.Cuda"/>,
    /// <see cref="Breakdown"/>, <see cref="Fit"/>, <see cref="Remedies"/>, <see cref="CatalogFit"/> and, for the messages,
    /// <see cref="BudgetEvaluator"/>. Nothing here does memory arithmetic of its own.
    /// </summary>
    internal static class Planner
    {
        /// <summary>The version of the JSON layout (Output/plan.schema.json); raised on any incompatible change.</summary>
        public const string SchemaVersion = "1";

        /// <summary>Sequence length of the command-line scenario when neither the model nor <c>--seq</c> gives one.</summary>
        public const long DefaultSequenceLength = 2048;

        /// <summary>The origin of the scenario planned for a model that declares no budget.</summary>
        public const string CommandLine = "command line";

        private static readonly string KnownCards = string.Join(", ", GpuCatalog.All.Select(g => g.Name));

        /// <summary>Plans every model of <paramref name="models"/>.</summary>
        /// <param name="input">What the user named, for the report.</param>
        /// <param name="models">The models.</param>
        /// <param name="options">The command line's changes.</param>
        /// <param name="project">The project-level budget (from the project's MSBuild properties), used when the command line names no GPU.</param>
        public static PlanReport Plan(string input, IReadOnlyList<LoadedModel> models, PlanOptions options, ProjectBudget project)
        {
            var budget = options.Gpu is not null ? new ProjectBudget(options.Gpu, options.Gigabytes) : project;
            return new PlanReport(SchemaVersion, input, models.Select(m => PlanModel(m, options, budget)).ToList());
        }

        private static ModelPlan PlanModel(LoadedModel loaded, PlanOptions options, ProjectBudget project)
        {
            var model = ModelOverrides.Apply(loaded.Spec, options);
            var declared = loaded.Spec.Root.Budgets.Select((s, i) => (Origin: $"[VramBudget] {i + 1}", Scenario: s)).ToList();
            if (declared.Count == 0)
            {
                var seq = Math.Min(DefaultSequenceLength, loaded.MaxPositions ?? DefaultSequenceLength);
                declared.Add((CommandLine, new ScenarioSpec(0, Workload.Training, seq, 1, Optimizer.AdamW)));
            }
            // A command-line change to the layers (e.g. --quantize int4 on a width its group does not divide) is checked as the
            // analyzers check the attributes it stands for; an error leaves every scenario without numbers.
            var layerProblems = new List<DiagnosticText>();
            var layerError = Errors(new[] { model.Root }.Concat(model.Layers).SelectMany(SpecChecks.CheckLayer), layerProblems);
            var scenarios = declared.Select(d => layerError
                ? Unestimated(d.Origin, ModelOverrides.Apply(d.Scenario, options), null, new List<DiagnosticText>(layerProblems))
                : PlanScenario(model, d.Origin, ModelOverrides.Apply(d.Scenario, options), project, options)).ToList();
            if (layerError)
                return new ModelPlan(model.Root.Name, loaded.Source, 0, 0, scenarios);
            var counted = MemoryModel.Estimate(model, new ScenarioSpec(0, Workload.Inference, 1, 1, Optimizer.AdamW), DeviceProfile.Cuda);
            return new ModelPlan(model.Root.Name, loaded.Source, counted.ParameterCount, counted.TrainableParameterCount, scenarios);
        }

        private static ScenarioPlan PlanScenario(ModelSpec model, string origin, ScenarioSpec scenario, ProjectBudget project, PlanOptions options)
        {
            var name = model.Root.Name;
            var problems = new List<DiagnosticText>();
            if (Errors(SpecChecks.CheckScenario(name, scenario), problems))
                return Unestimated(origin, scenario, null, problems);

            var (resolved, findings) = BudgetResolver.Resolve(name, scenario, project, card => GpuCatalog.Find(card)?.UsableGigabytes, KnownCards);
            var noSize = findings.All(f => f.Id == Descriptors.BudgetWithoutSize.Id);
            // A scenario made on the command line has no [VramBudget] to complain about: without --gpu or --gb it simply has no budget.
            if (Errors(noSize && origin == CommandLine ? Array.Empty<SpecFinding>() : findings, problems) && !noSize)
                return Unestimated(origin, scenario, null, problems);
            if (resolved is not null)
                scenario = resolved.Scenario with { Gpu = resolved.Scenario.Gpu is { } gpu ? GpuCatalog.Find(gpu)?.Name ?? gpu : null };
            // --gpu is applied as the project GPU and --gb as the budget's size, so the resolver names them so; they came from here.
            var source = resolved is null ? null
                : options.Gpu is not null || (options.Gigabytes is not null && resolved.Source == "attribute") ? CommandLine : resolved.Source;
            BudgetInfo? budget = resolved is null ? null
                : new BudgetInfo(scenario.Gigabytes, Gigabytes.ToBytes(scenario.Gigabytes), scenario.Gpu, source!);
            if (Errors(SpecChecks.CheckSharding(model, scenario), problems))
                return Unestimated(origin, scenario, budget, problems);

            MemoryEstimate estimate;
            try
            {
                estimate = MemoryModel.Estimate(model, scenario, DeviceProfile.Cuda);
            }
            catch (ArgumentException e)
            {
                problems.Add(new DiagnosticText("error", e.Message));
                return Unestimated(origin, scenario, budget, problems);
            }
            var breakdown = Breakdown.Format(estimate, scenario);
            var info = new EstimateInfo(estimate.PeakBytes, breakdown.Total, estimate.PeakPhase, breakdown.Parts, estimate.HostBytes,
                estimate.Phases.Select(p => new PhaseInfo(p.Phase, p.PeakBytes, p.Terms.ToDictionary(t => t.Name, t => t.Bytes))).ToList());
            var cards = CatalogFit.Find(model, scenario)
                .Select(c => new CardInfo(c.Card.Name, c.Card.MemoryGigabytes, c.Devices, SpreadName(c.Spread), c.PeakBytes, c.Card.IndicativePriceUsd * c.Devices))
                .ToList();
            var sweep = Sweep(model, scenario, budget?.Bytes);
            if (budget is null)
                return new ScenarioPlan(origin, Settings(scenario), null, problems, info, null, null, null, null, cards, new List<RemedyInfo>(), new List<DiagnosticText>(), sweep);

            var remedies = Remedies.Find(model, scenario, budget.Bytes, DeviceProfile.Cuda)
                .Select(r => new RemedyInfo(r.Kind.ToString(), r.Description, r.PeakBytes, r.SavingBytes, r.Fits)).ToList();
            var diagnostics = BudgetEvaluator.Evaluate(model, scenario, BudgetReports.All).Select(f => new DiagnosticText(f.Id, f.Message)).ToList();
            return new ScenarioPlan(origin, Settings(scenario), budget, problems, info, estimate.PeakBytes <= budget.Bytes, budget.Bytes - estimate.PeakBytes,
                Fit.MaxSequenceLength(model, scenario, budget.Bytes, DeviceProfile.Cuda), Fit.MaxBatch(model, scenario, budget.Bytes, DeviceProfile.Cuda),
                cards, remedies, diagnostics, sweep);
        }

        /// <summary>
        /// Peaks at powers of two from 128 up to twice the larger of the scenario's length and the largest that fits, plus those two
        /// lengths themselves, so the chart shows where the budget line is crossed.
        /// </summary>
        private static List<SweepPoint> Sweep(ModelSpec model, ScenarioSpec scenario, long? budgetBytes)
        {
            var lengths = new SortedSet<long> { scenario.SequenceLength };
            var fit = budgetBytes is { } bytes ? Fit.MaxSequenceLength(model, scenario, bytes, DeviceProfile.Cuda) : 0;
            if (fit > 0)
                lengths.Add(fit);
            var top = Math.Min(Fit.MaxSearchedSequenceLength, 2 * Math.Max(scenario.SequenceLength, fit));
            for (var length = 128L; length <= top; length *= 2)
                lengths.Add(length);
            var points = new List<SweepPoint>();
            foreach (var length in lengths)
            {
                try
                {
                    points.Add(new SweepPoint(length, MemoryModel.Estimate(model, scenario with { SequenceLength = length }, DeviceProfile.Cuda).PeakBytes));
                }
                catch (ArgumentException)
                {
                    // A length the model rejects (e.g. not divisible by the tensor-parallel degree under sequence parallelism): no point.
                }
            }
            return points;
        }

        private static bool Errors(IEnumerable<SpecFinding> findings, List<DiagnosticText> problems)
        {
            var error = false;
            foreach (var finding in findings)
            {
                problems.Add(new DiagnosticText(finding.Id, finding.Message));
                error |= Descriptors.ById(finding.Id).DefaultSeverity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error
                    || finding.Id == Descriptors.BudgetWithoutSize.Id;
            }
            return error;
        }

        private static ScenarioPlan Unestimated(string origin, ScenarioSpec scenario, BudgetInfo? budget, List<DiagnosticText> problems) =>
            new(origin, Settings(scenario), budget, problems, null, null, null, null, null, new List<CardInfo>(), new List<RemedyInfo>(), new List<DiagnosticText>(), new List<SweepPoint>());

        private static ScenarioSettings Settings(ScenarioSpec s) => new(
            ScenarioText.Workload(s), s.SequenceLength, s.Batch, ScenarioText.Optimizer(s), s.TensorParallel, s.DataParallel, s.ZeroStage,
            s.OffloadOptimizer, s.OffloadParameters, s.SequenceParallel,
            $"seq {s.SequenceLength.ToString(CultureInfo.InvariantCulture)} ({ScenarioText.Workload(s)}, batch {s.Batch.ToString(CultureInfo.InvariantCulture)}, {ScenarioText.Optimizer(s)}{ScenarioText.Layout(s)})");

        private static string SpreadName(Spread spread) => spread switch
        {
            Spread.TensorParallel => "tensor parallel",
            Spread.Zero3 => "ZeRO-3",
            _ => "single",
        };
    }
}
