using System;
using ModelGen.Distributed;
using static TorchSharp.torch;

namespace ModelGen.Optimizers
{
    public abstract partial class TrainingOptimizer
    {
        /// <summary>
        /// One optimizer step: folds the gradients not yet folded, unscales them when a <paramref name="scaler"/> is given and skips
        /// the step if any rank saw inf or NaN, clips them to <see cref="OptimizerSettings.MaxGradientNorm"/> by the global norm,
        /// updates this rank's partition parameter by parameter, writes it into the model (rounded to 16 bits where the model is
        /// 16-bit) and all-gathers the other ranks' partitions. Every gradient is freed afterwards, whether the step ran or not.
        /// </summary>
        /// <param name="scaler">The fp16 loss scaler whose scale multiplied the loss; null for bf16 and fp32 training.</param>
        /// <returns>False when the step was skipped because the gradients overflowed.</returns>
        /// <exception cref="BackwardException">A checkpoint's recompute failed in the last backward; nothing was stepped.</exception>
        public bool Step(LossScaler? scaler = null)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            FoldGradients();
            try {
                using var _ = no_grad();
                var inverseScale = scaler is null ? 1.0 : 1.0 / scaler.CurrentScale;
                var squaredNorm = SquaredNorm(inverseScale);
                LastGradientNorm = Math.Sqrt(squaredNorm);
                if (scaler is not null) {
                    var finite = AgreedFinite(double.IsFinite(squaredNorm));
                    scaler.Update(finite);
                    if (!finite)
                        return false;
                }
                var factor = inverseScale;
                if (Settings.MaxGradientNorm is { } maxNorm) {
                    // torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1.
                    var clip = maxNorm / (LastGradientNorm + 1e-6);
                    if (clip < 1)
                        factor *= clip;
                }
                foreach (var slot in _slots) {
                    using var scope = NewDisposeScope();
                    var gradient = GradientOf(slot, UsesModelGradient(slot));
                    if (gradient is null || slot.Length == 0)
                        continue;
                    if (factor != 1.0)
                        gradient.mul_(factor);
                    slot.Steps++;
                    Update(slot, slot.Master, gradient);
                    if (!slot.MasterIsView)
                        slot.OwnedRangeOfModel().copy_(slot.Master);
                }
                GatherPartitions();
                return true;
            } finally {
                ZeroGrad();
            }
        }

        /// <summary>
        /// The sum of squares of every (unscaled) gradient over all ranks: each rank adds its own partition, then the group sums.
        /// Under tensor parallelism with <see cref="OptimizerSettings.TensorParallelCopies"/>, each parameter's squares are divided
        /// by the ranks holding the same values and the tensor-parallel ranks sum too, so every slice and every replicated tensor
        /// counts once and all ranks get the same norm. One value serves both the overflow check (inf/NaN anywhere makes it
        /// non-finite) and the clipping norm.
        /// </summary>
        private double SquaredNorm(double inverseScale)
        {
            using var scope = NewDisposeScope();
            var copies = Settings.TensorParallel.Size > 1 ? Settings.TensorParallelCopies : null;
            Tensor? total = null;
            foreach (var slot in _slots) {
                var gradient = GradientOf(slot, UsesModelGradient(slot));
                if (gradient is null || slot.Length == 0)
                    continue;
                // A per-parameter scalar: no parameter-sized temporary (vector_norm reduces in one pass).
                var norm = linalg.vector_norm(gradient, 2).to(ScalarType.Float64, CPU);
                var square = norm * norm;
                if (copies is not null)
                    square = square / Math.Max(1, copies(slot.Model));
                total = total is null ? square : total.add_(square);
            }
            total ??= zeros(1, ScalarType.Float64);
            var value = total.reshape(1);
            if (NormGroup.Size > 1)
                NormGroup.AllReduce(value, ReduceOp.Sum);
            if (copies is not null)
                Settings.TensorParallel.AllReduce(value, ReduceOp.Sum);
            return value.item<double>() * inverseScale * inverseScale;
        }

        /// <summary>
        /// Whether every tensor-parallel rank's gradients are finite (the data-parallel ranks already agree through the reduced norm or
        /// the averaged gradients): one overflowing slice skips the step on all, so the slices and the scales stay in step.
        /// </summary>
        private bool AgreedFinite(bool finite)
        {
            var group = Settings.TensorParallel;
            if (group.Size == 1)
                return finite;
            using var flag = tensor(new[] { finite ? 0f : 1f });
            group.AllReduce(flag, ReduceOp.Max);
            return flag.item<float>() == 0f;
        }

        /// <summary>Gives every rank the partitions the others updated, one parameter at a time (no model-sized buffer).</summary>
        private void GatherPartitions()
        {
            var group = Group;
            if (group.Size == 1)
                return;
            foreach (var slot in _slots) {
                using var scope = NewDisposeScope();
                var gathered = group.AllGather(slot.OwnedRangeOfModel().contiguous());
                slot.Model.detach().view(-1).copy_(gathered);
            }
        }
    }
}
