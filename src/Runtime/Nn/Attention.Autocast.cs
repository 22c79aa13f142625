using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Nn
{
    // Mixed precision (docs/precision.md, "Attention and FeedForward"): fp32 parameters, 16-bit compute, as PyTorch's autocast runs the
    // block. Kept apart from the block's math.
    public sealed partial class Attention
    {
        /// <summary>
        /// The 16-bit dtype the block computes in from fp32 parameters (its projections are <see cref="AutocastLinear"/>), or null when
        /// it computes in its parameters' dtype. The input is cast to it once and shared by q/k/v; the projections, rotary embedding,
        /// <c>q·kᵀ</c>, <c>scaled_dot_product_attention</c> and <c>p·v</c> run at that dtype (autocast's lower-precision list); the
        /// eager softmax returns fp32 probabilities (autocast's fp32 list), cast to 16 bits for <c>p·v</c>; the output is cast back to
        /// the input's dtype.
        /// </summary>
        public ScalarType? Compute { get; }

        /// <summary>The input the projections read: a 16-bit copy under mixed precision (one for q, k and v), the input otherwise.</summary>
        private Tensor ComputeInput(Tensor input) =>
            Compute is { } c && input.dtype != c && input.is_floating_point() ? input.to_type(c) : input;

        /// <summary>The block's result in the residual stream's dtype (the input's): a cast of the 16-bit output under mixed precision.</summary>
        private Tensor ResidualOutput(Tensor output, Tensor input) =>
            Compute is not null && output.dtype != input.dtype && input.is_floating_point() ? output.to_type(input.dtype) : output;

        /// <summary>
        /// The eager core under autocast: <c>q·kᵀ</c> in 16 bits, its fp32 cast (the 16-bit scores freed at once), the scaled, masked
        /// softmax of it in fp32 (saved in fp32 by <see cref="ScaledMaskedSoftmax"/>, as autocast's <c>softmax</c> saves its fp32
        /// output), dropout on the fp32 probabilities, then a 16-bit cast of them (what <c>p·v</c> saves) times <c>v</c>.
        /// </summary>
        private Tensor AutocastEagerCore(Tensor q, Tensor k, Tensor v, double dropout)
        {
            Tensor probabilities;
            using (var keysT = k.transpose(-2, -1))
            {
                Tensor scores32;
                using (var scores = q.matmul(keysT))
                    scores32 = scores.to_type(ScalarType.Float32);
                using (scores32)
                    probabilities = ScaledMaskedSoftmax.Apply(scores32, 1.0 / System.Math.Sqrt(HeadDim), Causal, window: _slidingWindow ?? 0);
            }
            if (dropout > 0)
            {
                using var kept = probabilities;
                probabilities = nn.functional.dropout(kept, dropout, training);
            }
            using (probabilities)
            using (var cast = probabilities.to_type(v.dtype))
                return cast.matmul(v);
        }
    }
}
