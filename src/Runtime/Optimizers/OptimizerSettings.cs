using System;
using ModelGen.Distributed;

namespace ModelGen.Optimizers
{
    /// <summary>
    /// How a <see cref="TrainingOptimizer"/> keeps its state: precision of 16-bit parameters, sharding over data-parallel ranks
    /// (ZeRO, Rajbhandari et al. 2020, §5), offload to host memory and gradient clipping.
    /// </summary>
    public sealed record OptimizerSettings
    {
        /// <summary>
        /// For 16-bit parameters: keep an fp32 master copy and an fp32 main gradient, step on them and round the result into the
        /// 16-bit weights (default, Micikevicius et al. 2018, §3.1). False is the pure 16-bit mode: the parameter is updated in
        /// place with optimizer state in its own dtype, as <c>torch.optim</c> does on a bf16 model. fp32 parameters never get a copy.
        /// </summary>
        public bool Fp32MasterWeights { get; init; } = true;

        /// <summary>The data-parallel ranks that share the optimizer state from <see cref="ZeroStage"/> 1 on.</summary>
        public ProcessGroup DataParallel { get; init; } = SingleProcessGroup.Instance;

        /// <summary>
        /// 0: every rank keeps all optimizer state and communicates nothing (average the gradients with data parallel first).
        /// 1: state partitioned over <see cref="DataParallel"/>; gradients all-reduced (averaged), each rank steps its partition,
        /// the parameters are all-gathered. 2: as 1, but gradients are reduce-scattered straight into their owner's partition.
        /// 3: the parameters themselves are partitioned by <see cref="Training.ZeroStage3"/>; give the optimizer its
        /// <see cref="Training.ZeroStage3.Partitions"/>, whose gradients arrive already reduce-scattered: the optimizer steps them
        /// locally and only sums the clipping norm over the group.
        /// </summary>
        public int ZeroStage { get; init; }

        /// <summary>
        /// Keep master weights, optimizer state and main gradients in host memory and run the step there (ZeRO-Offload, Ren et al.
        /// 2021): each gradient is copied to the host as it is folded, each updated partition copied back to the device.
        /// </summary>
        public bool OffloadToHost { get; init; }

        /// <summary>
        /// The tensor-parallel ranks that hold other slices of the same model (<see cref="Distributed.ParallelGrid.TensorParallel"/>):
        /// with a <see cref="LossScaler"/> the overflow check is agreed over them as well as over the data-parallel ranks, so an
        /// overflow in one rank's slice skips the step, and backs the scale off, on every rank.
        /// </summary>
        public ProcessGroup TensorParallel { get; init; } = SingleProcessGroup.Instance;

        /// <summary>Clip the gradients to this global 2-norm (over every rank) before each step; null: no clipping.</summary>
        public double? MaxGradientNorm { get; init; }

        /// <summary>
        /// Under tensor parallelism, how many tensor-parallel ranks hold the same values as a parameter: 1 for a slice of a sharded
        /// tensor, the degree for a replicated one (norms, row-parallel biases), the replica count for key/value heads shared by
        /// some ranks. The global gradient norm counts each parameter's squares divided by it and sums over the tensor-parallel
        /// ranks, so every slice counts once and every replicated tensor once (Megatron-LM's clip_grad_norm). Needed for
        /// <see cref="MaxGradientNorm"/> with more than one tensor-parallel rank; <c>TensorParallelState.CopiesOf(model, degree)</c>
        /// builds it, and the generated <c>CreateTraining</c> sets it.
        /// </summary>
        public Func<TorchSharp.Modules.Parameter, int>? TensorParallelCopies { get; init; }

        /// <summary>Checks the values; called by every optimizer's constructor.</summary>
        /// <exception cref="ArgumentException">A value is out of range.</exception>
        public void Validate()
        {
            ArgumentNullException.ThrowIfNull(DataParallel, nameof(DataParallel));
            if (ZeroStage is < 0 or > 3)
                throw new ArgumentException($"ZeRO has stages 0 to 3, not {ZeroStage}.", nameof(ZeroStage));
            if (MaxGradientNorm is { } norm && !(norm > 0 && double.IsFinite(norm)))
                throw new ArgumentException($"MaxGradientNorm must be a finite positive number, not {norm}.", nameof(MaxGradientNorm));
            ArgumentNullException.ThrowIfNull(TensorParallel, nameof(TensorParallel));
            // The global norm needs each replicated parameter counted once over the tensor-parallel ranks and each slice once: without
            // the copies of each parameter it would be wrong, so it is refused rather than clipped by a wrong norm. ZeRO 3 steps flat
            // partitions that mix sliced and replicated parameters, which one count per parameter cannot describe.
            if (MaxGradientNorm is not null && TensorParallel.Size > 1 && (TensorParallelCopies is null || ZeroStage == 3))
                throw new ArgumentException(
                    $"MaxGradientNorm with {TensorParallel.Size} tensor-parallel ranks needs " + (ZeroStage == 3
                        ? "ZeRO stage 0, 1 or 2: ZeRO 3's flat partitions mix sliced and replicated parameters, whose global norm is not computed yet. "
                        : "TensorParallelCopies (TensorParallelState.CopiesOf(model, degree); the generated CreateTraining sets it), so that each slice and each replicated parameter counts once in the global norm. ") +
                    "Leave MaxGradientNorm unset otherwise.", nameof(MaxGradientNorm));
        }
    }
}
