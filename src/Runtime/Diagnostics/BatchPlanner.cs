using System;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;

namespace ModelGen
{
    /// <summary>
    /// How to reach a global batch on one device: the micro-batch per forward/backward and the gradient-accumulation steps.
    /// </summary>
    /// <param name="MicroBatch">Sequences per forward/backward; divides the target batch.</param>
    /// <param name="AccumulationSteps">Micro-batches whose gradients are summed before each optimizer step.</param>
    /// <param name="PeakBytes">The memory model's peak at <paramref name="MicroBatch"/>.</param>
    /// <param name="BudgetBytes">The device memory planned against.</param>
    public sealed record BatchPlan(long MicroBatch, long AccumulationSteps, long PeakBytes, long BudgetBytes);

    /// <summary>
    /// Plans batches at run time with the same memory model the analyzers use at compile time, for the sizes of the config
    /// actually passed (<c>Model.DescribeModel(config)</c>). Peak memory never decreases with the batch, so the largest
    /// micro-batch that fits is exact (<see cref="Fit.MaxBatch"/>); the plan takes the largest divisor of the target batch
    /// not above it, so every optimizer step sees exactly the target batch.
    /// </summary>
    public static class BatchPlanner
    {
        /// <summary>Plans <paramref name="targetBatch"/> sequences per optimizer step within <paramref name="budgetBytes"/>.</summary>
        /// <param name="model">The model as <c>DescribeModel(config)</c> returns it.</param>
        /// <param name="scenario">Workload, sequence length, optimizer, parallelism; its batch is ignored.</param>
        /// <param name="targetBatch">Sequences per optimizer step.</param>
        /// <param name="budgetBytes">Device memory to plan against, e.g. a card's memory less what else runs on it.</param>
        /// <param name="device">The device profile; a CUDA GPU when null.</param>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="targetBatch"/> or <paramref name="budgetBytes"/> is not positive.</exception>
        /// <exception cref="InvalidOperationException">Not even one sequence fits; the message has the breakdown at batch 1.</exception>
        public static BatchPlan Plan(ModelSpec model, ScenarioSpec scenario, long targetBatch, long budgetBytes, DeviceProfile? device = null)
        {
            if (model is null)
                throw new ArgumentNullException(nameof(model));
            if (scenario is null)
                throw new ArgumentNullException(nameof(scenario));
            if (targetBatch <= 0)
                throw new ArgumentOutOfRangeException(nameof(targetBatch), targetBatch, "The target batch must be at least one sequence.");
            if (budgetBytes <= 0)
                throw new ArgumentOutOfRangeException(nameof(budgetBytes), budgetBytes, "The budget must be positive.");

            var largest = Fit.MaxBatch(model, scenario, budgetBytes, device);
            if (largest == 0)
            {
                var single = MemoryModel.Estimate(model, scenario with { Batch = 1 }, device);
                var (total, parts) = Breakdown.Format(single, scenario with { Batch = 1 });
                throw new InvalidOperationException(
                    $"'{model.Root.Name}' does not fit {Breakdown.Gigabytes(budgetBytes)} GB even with one sequence of {scenario.SequenceLength} tokens: " +
                    $"it needs {total} GB ({parts}). Checkpoint, quantize, shard or offload (see the MG0003 remedies).");
            }

            var micro = Math.Min(largest, targetBatch);
            while (targetBatch % micro != 0)
                micro--;
            var peak = MemoryModel.Estimate(model, scenario with { Batch = micro }, device).PeakBytes;
            return new BatchPlan(micro, targetBatch / micro, peak, budgetBytes);
        }
    }
}
