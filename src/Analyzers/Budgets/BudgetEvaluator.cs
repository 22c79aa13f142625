using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using ModelGen.Diagnostics;
using ModelGen.Memory;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Budgets
{
    /// <summary>Which optional budget diagnostics to compute (each costs extra memory-model runs, so disabled ones are skipped).</summary>
    [Flags]
    public enum BudgetReports
    {
        /// <summary>Only MG0001.</summary>
        None = 0,

        /// <summary>MG0002 for a scenario that fits: headroom, largest sequence length and batch (two searches of ~20 estimates each).</summary>
        Fits = 1,

        /// <summary>MG0003 / MG0005: the single changes that fit (one estimate per candidate change).</summary>
        Remedies = 2,

        /// <summary>MG0004: the catalog cards the scenario fits on (seven estimates at most).</summary>
        Cards = 4,

        /// <summary>Everything.</summary>
        All = Fits | Remedies | Cards,
    }

    /// <summary>
    /// Checks one resolved budget of one model with the memory model and returns its diagnostics as data: MG0001 when the peak
    /// exceeds the budget (with the breakdown, and the cheapest remedy the code fix can apply in its properties), MG0002 when it
    /// fits, MG0003 (or MG0005) with the remedies, MG0004 with the catalog cards. Pure: no Roslyn symbols, no syntax.
    /// </summary>
    public static class BudgetEvaluator
    {
        /// <summary>Remedies listed in MG0005 when none fits on its own.</summary>
        public const int LargestSavingsShown = 3;

        /// <summary>Evaluates <paramref name="scenario"/>, whose <see cref="ScenarioSpec.Gigabytes"/> is settled (see <see cref="BudgetResolver"/>).</summary>
        /// <param name="model">The model as the parser builds it.</param>
        /// <param name="scenario">The budget, size resolved.</param>
        /// <param name="reports">Optional diagnostics to compute.</param>
        /// <param name="appliesByAttributes">
        /// Whether the code fix can apply a remedy by editing attributes alone (e.g. quantizing needs block properties declared so that a
        /// QuantizedLinear fits them); null means every remedy can.
        /// </param>
        /// <exception cref="ArgumentException">The memory model rejects the model; the spec checks report why before this is called.</exception>
        public static IReadOnlyList<BudgetFinding> Evaluate(ModelSpec model, ScenarioSpec scenario, BudgetReports reports, Func<Remedy, bool>? appliesByAttributes = null)
        {
            var findings = new List<BudgetFinding>();
            var budgetBytes = Gigabytes.ToBytes(scenario.Gigabytes);
            var memo = new EstimateMemo(DeviceProfile.Cuda); // the declared scenario (and others) recur in the searches below
            var estimate = memo.Estimate(model, scenario);
            var breakdown = Breakdown.Format(estimate, scenario);
            var properties = Properties(estimate, scenario, budgetBytes);
            var name = model.Root.Name;
            var seq = Integer(scenario.SequenceLength);
            var budget = Breakdown.Budget(scenario.Gigabytes);

            if (estimate.PeakBytes > budgetBytes)
            {
                var remedies = (reports & BudgetReports.Remedies) != 0
                    ? Remedies.FindUsing(model, scenario, budgetBytes, memo.Estimate)
                    : Array.Empty<Remedy>();
                // Cheapest kind first; within a kind the smallest ZeRO stage or device count (Remedies orders those by saving).
                var cheapest = Cheapest(remedies, appliesByAttributes);
                var exceeded = cheapest is null ? properties : properties.AddRange(RemedyProperties(model, cheapest));
                findings.Add(new BudgetFinding(Descriptors.BudgetExceeded.Id, new[]
                {
                    name, breakdown.Total, seq, ScenarioText.Workload(scenario), Integer(scenario.Batch),
                    ScenarioText.Optimizer(scenario) + ScenarioText.Layout(scenario), budget, $"{breakdown.Parts} (peak phase: {estimate.PeakPhase})",
                }, exceeded));
                if ((reports & BudgetReports.Remedies) != 0)
                    findings.Add(RemediesFinding(name, seq, budget, remedies, exceeded));
            }
            else if ((reports & BudgetReports.Fits) != 0)
            {
                var maxSequence = Fit.MaxSequenceLengthUsing(model, scenario, budgetBytes, memo.Estimate);
                var maxBatch = Fit.MaxBatchUsing(model, scenario, budgetBytes, memo.Estimate);
                findings.Add(new BudgetFinding(Descriptors.BudgetFits.Id, new[]
                {
                    name, budget, seq, ScenarioText.Workload(scenario), Integer(scenario.Batch),
                    ScenarioText.Optimizer(scenario) + ScenarioText.Layout(scenario), breakdown.Total,
                    Breakdown.Gigabytes(budgetBytes - estimate.PeakBytes), Integer(maxSequence), Integer(maxBatch),
                }, properties));
            }

            if ((reports & BudgetReports.Cards) != 0)
            {
                var cards = CatalogFit.FindUsing(model, scenario, memo.Estimate);
                findings.Add(new BudgetFinding(Descriptors.FittingCards.Id, new[]
                {
                    name, seq, ScenarioText.Workload(scenario), Integer(scenario.Batch), CatalogFit.Describe(cards),
                }, properties.AddRange(cards.Select(c => new KeyValuePair<string, string?>("Card." + c.Card.Name, $"{c.Devices} {c.Spread}")))));
            }
            return findings;
        }

        /// <summary>
        /// The terms MG0001 names even when zero at the peak: weights and activations always, gradients and optimizer for training.
        /// A zero says something there (e.g. activations are freed before the optimizer step that holds the peak).
        /// </summary>
        private static BudgetFinding RemediesFinding(string name, string seq, string budget, IReadOnlyList<Remedy> remedies, ImmutableDictionary<string, string?> properties)
        {
            // Per (kind, layer, block), in order of first appearance, the smallest ZeRO stage / tensor-parallel degree that fits (the
            // first of equals). Loops rather than LINQ keyed by tuples and enums: see Cheapest.
            var fitting = new List<Remedy>();
            foreach (var remedy in remedies.Where(r => r.Fits))
            {
                var same = fitting.FindIndex(r => r.Kind == remedy.Kind && r.TargetLayer == remedy.TargetLayer && r.TargetBlock == remedy.TargetBlock);
                if (same < 0)
                    fitting.Add(remedy);
                else if (remedy.Degree < fitting[same].Degree)
                    fitting[same] = remedy;
            }
            if (fitting.Count > 0)
            {
                var list = string.Join("; ", fitting.Select(r => $"{r.Description}: {Breakdown.Gigabytes(r.PeakBytes)} GB"));
                return new BudgetFinding(Descriptors.BudgetRemedies.Id, new[] { name, seq, budget, list }, properties);
            }
            // The largest savings first, equal ones in the remedies' order: a stable insertion, not OrderByDescending over a long
            // key (a generic instantiation over a value type, compiled afresh in every compiler process).
            var bySaving = new List<Remedy>();
            foreach (var remedy in remedies)
            {
                var at = bySaving.Count;
                while (at > 0 && bySaving[at - 1].SavingBytes < remedy.SavingBytes)
                    at--;
                bySaving.Insert(at, remedy);
            }
            var best = new List<string>();
            for (var i = 0; i < bySaving.Count && i < LargestSavingsShown; i++)
                best.Add($"{bySaving[i].Description} saves {Breakdown.Gigabytes(bySaving[i].SavingBytes)} GB");
            var text = best.Count == 0 ? "no change ModelGen knows lowers the peak" : string.Join("; ", best);
            return new BudgetFinding(Descriptors.NoSingleRemedy.Id, new[] { name, seq, budget, text }, properties);
        }

        /// <summary>
        /// The remedy MG0001's code fix offers: of those that fit, the cheapest kind, within a kind the smallest ZeRO stage or device
        /// count, the first of equals (Remedies' order), that <paramref name="appliesByAttributes"/> accepts. Tested in that order only
        /// until one passes (the test binds symbols). A stable insertion by index, not LINQ's OrderBy over enum keys: each generic
        /// instantiation over a value type is compiled afresh in every compiler process, and most builds are one cold process.
        /// </summary>
        private static Remedy? Cheapest(IReadOnlyList<Remedy> remedies, Func<Remedy, bool>? appliesByAttributes)
        {
            static int Degree(Remedy r) => r.Kind is RemedyKind.TensorParallel or RemedyKind.ZeroStage ? r.Degree : 0;
            var ordered = new List<Remedy>();
            foreach (var remedy in remedies)
            {
                if (!remedy.Fits)
                    continue;
                var at = ordered.Count;
                while (at > 0 && (ordered[at - 1].Kind > remedy.Kind || (ordered[at - 1].Kind == remedy.Kind && Degree(ordered[at - 1]) > Degree(remedy))))
                    at--;
                ordered.Insert(at, remedy);
            }
            foreach (var remedy in ordered)
            {
                if (appliesByAttributes?.Invoke(remedy) ?? true)
                    return remedy;
            }
            return null;
        }

        private static ImmutableDictionary<string, string?> Properties(MemoryEstimate estimate, ScenarioSpec scenario, long budgetBytes)
        {
            var builder = ImmutableDictionary.CreateBuilder<string, string?>();
            builder[BudgetProperties.PeakBytes] = Integer(estimate.PeakBytes);
            builder[BudgetProperties.BudgetBytes] = Integer(budgetBytes);
            builder[BudgetProperties.PeakPhase] = estimate.PeakPhase;
            builder[BudgetProperties.ParameterCount] = Integer(estimate.ParameterCount);
            builder[BudgetProperties.TrainableParameterCount] = Integer(estimate.TrainableParameterCount);
            builder[BudgetProperties.HostBytes] = Integer(estimate.HostBytes);
            foreach (var term in estimate.Terms)
                builder[BudgetProperties.TermPrefix + term.Name] = Integer(term.Bytes);
            foreach (var phase in estimate.Phases)
                builder[BudgetProperties.PhasePrefix + phase.Phase] = Integer(phase.PeakBytes);
            if (scenario.Gpu is { } gpu)
                builder[BudgetProperties.Gpu] = gpu;
            return builder.ToImmutable();
        }

        private static IEnumerable<KeyValuePair<string, string?>> RemedyProperties(ModelSpec model, Remedy remedy)
        {
            yield return new(BudgetProperties.RemedyKind, remedy.Kind.ToString());
            yield return new(BudgetProperties.RemedyDescription, remedy.Description);
            yield return new(BudgetProperties.RemedyDegree, Integer(remedy.Degree));
            var layer = new[] { model.Root }.Concat(model.Layers).FirstOrDefault(l => l.Name == remedy.TargetLayer);
            if (layer is not null)
                yield return new(BudgetProperties.RemedyLayer, MetadataName(layer));
            if (remedy.TargetBlock is { } block)
                yield return new(BudgetProperties.RemedyBlock, block);
        }

        /// <summary>The metadata name of a layer class, for <c>Compilation.GetTypeByMetadataName</c>: <c>Demo.DecoderBlock</c>.</summary>
        public static string MetadataName(LayerSpec layer) => layer.Namespace.Length == 0 ? layer.Name : layer.Namespace + "." + layer.Name;

        private static string Integer(long value) => value.ToString(CultureInfo.InvariantCulture);
    }
}
