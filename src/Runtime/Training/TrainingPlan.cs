using System;

namespace ModelGen.Training
{
    /// <summary>
    /// The parallel settings a model is trained with: the values of its <c>[ParallelPlan]</c>, which the analyzers estimate.
    /// </summary>
    /// <param name="TensorParallel">Tensor-parallel ranks (the <c>[Shard]</c> blocks are split over them).</param>
    /// <param name="DataParallel">Data-parallel ranks.</param>
    /// <param name="ZeroStage">ZeRO stage 0–3 over the data-parallel ranks.</param>
    /// <param name="OffloadOptimizer">Optimizer state and master weights in host memory.</param>
    /// <param name="OffloadParameters">Parameters in host memory, streamed in layer by layer.</param>
    /// <param name="SequenceParallel">Sequence parallelism beside tensor parallelism.</param>
    public sealed record TrainingPlan(int TensorParallel = 1, int DataParallel = 1, int ZeroStage = 0, bool OffloadOptimizer = false,
        bool OffloadParameters = false, bool SequenceParallel = false)
    {
        /// <summary>Processes the plan needs: <see cref="TensorParallel"/> × <see cref="DataParallel"/>.</summary>
        public long WorldSize => (long)TensorParallel * DataParallel;

        /// <summary>Checks the values, with a message naming the one that is wrong.</summary>
        /// <exception cref="ArgumentException">A degree below 1 or a stage outside 0–3.</exception>
        public void Validate()
        {
            if (TensorParallel < 1) throw new ArgumentException($"TensorParallel must be at least 1, not {TensorParallel}.", nameof(TensorParallel));
            if (DataParallel < 1) throw new ArgumentException($"DataParallel must be at least 1, not {DataParallel}.", nameof(DataParallel));
            if (ZeroStage is < 0 or > 3) throw new ArgumentException($"ZeRO has stages 0 to 3, not {ZeroStage}.", nameof(ZeroStage));
        }
    }
}
