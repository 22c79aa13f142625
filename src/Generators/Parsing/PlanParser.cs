using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using ModelGen.Specs;

namespace ModelGen.Parsing
{
    /// <summary>
    /// Reads <c>[ParallelPlan]</c> on a model and gives every <c>[VramBudget]</c> its parallel settings, so the scenario the
    /// analyzers estimate is the plan the program runs.
    /// </summary>
    public static class PlanParser
    {
        /// <summary>Metadata name of the plan attribute.</summary>
        public const string ParallelPlanAttribute = "ModelGen.ParallelPlanAttribute";

        /// <summary>The named arguments a plan owns; a budget setting one of them to another value contradicts the plan.</summary>
        public static readonly string[] Settings =
            { "TensorParallel", "DataParallel", "ZeroStage", "OffloadOptimizer", "OffloadParameters", "SequenceParallel" };

        /// <summary>The plan on <paramref name="type"/>, if it has one.</summary>
        public static AttributeData? Find(INamedTypeSymbol type) => AttributeReader.Find(type, ParallelPlanAttribute);

        /// <summary>
        /// <paramref name="declared"/> with the plan's parallel settings (unset plan values are their defaults: 1 rank, stage 0,
        /// nothing offloaded); <paramref name="declared"/> unchanged when there is no plan.
        /// </summary>
        public static ScenarioSpec Apply(AttributeData? plan, ScenarioSpec declared)
        {
            if (plan is null)
                return declared;
            var applied = declared with
            {
                TensorParallel = AttributeReader.Named(plan, "TensorParallel", 1),
                DataParallel = AttributeReader.Named(plan, "DataParallel", 1),
                OffloadParameters = AttributeReader.Named(plan, "OffloadParameters", false),
                SequenceParallel = AttributeReader.Named(plan, "SequenceParallel", false),
            };
            // ZeRO 1/2 and optimizer offload split optimizer state and gradients, which inference does not have (MG0117 says so
            // when a budget sets them); an inference budget keeps its own values for these two.
            return declared.Workload == Workload.Inference
                ? applied
                : applied with
                {
                    ZeroStage = AttributeReader.Named(plan, "ZeroStage", 0),
                    OffloadOptimizer = AttributeReader.Named(plan, "OffloadOptimizer", false),
                    // A loss that reads the gathered logits (the plan's opt-in; MG0220 when a loss is passed without it).
                    GatheredLogits = AttributeReader.Named(plan, "GatheredLogits", false),
                };
        }

        /// <summary>The settings the plan gives a budget of <paramref name="workload"/>.</summary>
        public static IEnumerable<string> SettingsFor(Workload workload) =>
            workload == Workload.Inference ? Settings.Where(s => s is not ("ZeroStage" or "OffloadOptimizer")) : Settings;

        /// <summary>
        /// The parallel settings <paramref name="budget"/> sets explicitly to a value other than the plan's, as
        /// <c>"TensorParallel = 4 (the plan runs 2)"</c>; empty without a plan or when the budget agrees with it.
        /// </summary>
        public static IReadOnlyList<string> Conflicts(AttributeData? plan, AttributeData budget)
        {
            var conflicts = new List<string>();
            if (plan is null)
                return conflicts;
            var applied = Apply(plan, LayerParser.ReadBudget(budget));
            var owned = SettingsFor(applied.Workload).ToList();
            foreach (var pair in budget.NamedArguments.Where(p => owned.Contains(p.Key)))
            {
                var planned = Value(applied, pair.Key);
                var written = Text(pair.Value.Value);
                if (written != planned)
                    conflicts.Add($"{pair.Key} = {written} (the plan runs {planned})");
            }
            return conflicts;
        }

        private static string Value(ScenarioSpec scenario, string setting) => setting switch
        {
            "TensorParallel" => Text(scenario.TensorParallel),
            "DataParallel" => Text(scenario.DataParallel),
            "ZeroStage" => Text(scenario.ZeroStage),
            "OffloadOptimizer" => Text(scenario.OffloadOptimizer),
            "OffloadParameters" => Text(scenario.OffloadParameters),
            _ => Text(scenario.SequenceParallel),
        };

        private static string Text(object? value) => value switch
        {
            bool b => b ? "true" : "false",
            null => "null",
            _ => System.Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
        };
    }
}
