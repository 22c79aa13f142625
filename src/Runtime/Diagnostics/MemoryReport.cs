using System;
using System.IO;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;

namespace ModelGen
{
    /// <summary>
    /// Prints, at run time, what the analyzers computed at compile time: for each <see cref="VramBudgetAttribute"/> of a model,
    /// the peak the memory model predicts, its phase and breakdown, and whether it fits. The numbers come from the same
    /// <see cref="MemoryModel"/> and the same formatting as diagnostic MG0001, for the sizes of the config actually passed.
    /// </summary>
    public static class MemoryReport
    {
        /// <summary>Writes one paragraph per budget of <paramref name="model"/> to <paramref name="writer"/> (default: the console).</summary>
        /// <param name="model">The model as <c>DescribeModel(config)</c> returns it.</param>
        /// <param name="writer">Where to write; <see cref="Console.Out"/> when null.</param>
        /// <param name="device">The device profile; a CUDA GPU when null, as the analyzers assume.</param>
        /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
        public static void Print(ModelSpec model, TextWriter? writer = null, DeviceProfile? device = null)
        {
            if (model is null)
                throw new ArgumentNullException(nameof(model));
            writer ??= Console.Out;
            var name = model.Root.Name;
            if (model.Root.Budgets.Count == 0)
            {
                writer.WriteLine($"'{name}' declares no [VramBudget].");
                return;
            }

            foreach (var scenario in model.Root.Budgets)
            {
                var estimate = MemoryModel.Estimate(model, scenario, device);
                var (total, parts) = Breakdown.Format(estimate, scenario);
                // As the analyzers settle a budget: its own gigabytes when given, else the catalog card's memory.
                var gigabytes = scenario.Gigabytes > 0 ? scenario.Gigabytes : scenario.Gpu is { } gpu ? GpuCatalog.Find(gpu)?.UsableGigabytes ?? 0 : 0;
                var budget = scenario.Gpu is { } card && scenario.Gigabytes <= 0 ? card : $"{Breakdown.Budget(gigabytes)} GB";
                var verdict = estimate.PeakBytes > Gigabytes.ToBytes(gigabytes) ? "exceeds" : "fits";
                writer.WriteLine($"'{name}' needs {total} GB at seq {scenario.SequenceLength} ({ScenarioText.Workload(scenario)}, batch {scenario.Batch}, " +
                    $"{ScenarioText.Optimizer(scenario)}{ScenarioText.Layout(scenario)}), peak in {estimate.PeakPhase}: {verdict} the {budget} budget.");
                writer.WriteLine($"    {parts}; {estimate.ParameterCount:N0} parameters ({estimate.TrainableParameterCount:N0} trainable)");
            }
        }
    }
}
