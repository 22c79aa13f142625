using System;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Nn
{
    // Mixed precision (docs/precision.md, "Attention and FeedForward"): fp32 parameters, 16-bit compute, as PyTorch's autocast runs the
    // block. Kept apart from the block's math.
    public sealed partial class FeedForward
    {
        /// <summary>
        /// The 16-bit dtype the block computes in from fp32 parameters (its projections are <see cref="AutocastLinear"/>), or null when
        /// it computes in its parameters' dtype. The input is cast to it once and shared by the projections; the activation runs at
        /// that dtype (gelu, silu, relu and mul are on neither of autocast's lists); the output is cast back to the input's dtype.
        /// </summary>
        public ScalarType? Compute { get; }

        /// <summary>Checks a compute dtype against the block's other options; returns it.</summary>
        internal static ScalarType? CheckCompute(ScalarType? compute, ModelGen.Quantization.ProjectionQuantization? quantize)
        {
            if (compute is null)
                return null;
            if (compute is not (ScalarType.BFloat16 or ScalarType.Float16))
                throw new ArgumentException($"Mixed precision computes in BFloat16 or Float16, not {compute}.", nameof(compute));
            if (quantize is not null)
                throw new ArgumentException("A block with quantized projections computes in its quantization's dtype; it has no mixed-precision form.", nameof(compute));
            return compute;
        }

        /// <summary>The input the projections read: a 16-bit copy under mixed precision (one for all projections), the input otherwise.</summary>
        private Tensor ComputeInput(Tensor input) =>
            Compute is { } c && input.dtype != c && input.is_floating_point() ? input.to_type(c) : input;

        /// <summary>The block's result in the residual stream's dtype (the input's): a cast of the 16-bit output under mixed precision.</summary>
        private Tensor ResidualOutput(Tensor output, Tensor input) =>
            Compute is not null && output.dtype != input.dtype && input.is_floating_point() ? output.to_type(input.dtype) : output;
    }
}
