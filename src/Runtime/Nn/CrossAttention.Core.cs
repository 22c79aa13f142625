using System;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Nn
{
    /// <summary>
    /// The eager attention core shared by <see cref="CrossAttention"/> and <see cref="RelativeAttention"/>:
    /// <c>softmax(scale · q kᵀ + bias + mask) v</c> (Vaswani et al. 2017, eq. 1, with T5's additive bias), the softmax run in fp32 and
    /// saved in the scores' dtype (<see cref="ScaledMaskedSoftmax"/>). Each temporary is freed as soon as the next op has read it.
    /// </summary>
    internal static class EagerCore
    {
        /// <summary>The attended values, <c>[batch, heads, queries, headDim]</c>.</summary>
        /// <param name="q">Queries, <c>[batch, heads, queries, headDim]</c>.</param>
        /// <param name="k">Keys, <c>[batch, heads, keys, headDim]</c>.</param>
        /// <param name="v">Values, shaped like <paramref name="k"/>.</param>
        /// <param name="bias">Added to the scaled scores, broadcastable to <c>[batch, heads, queries, keys]</c>; null for none.</param>
        /// <param name="scale">Multiplies <c>q kᵀ</c>.</param>
        /// <param name="causal">Hide keys after each query (bottom-right aligned).</param>
        /// <param name="dropout">Drop probability of the probabilities (0 outside training).</param>
        public static Tensor Run(Tensor q, Tensor k, Tensor v, Tensor? bias, double scale, bool causal, double dropout)
        {
            Tensor probabilities;
            using (var keysT = k.transpose(-2, -1))
            using (var scores = q.matmul(keysT))
            {
                if (bias is null)
                {
                    probabilities = ScaledMaskedSoftmax.Apply(scores, scale, causal);
                }
                else
                {
                    // scale · scores + bias in one new tensor (a scalar mul and an add save nothing), then the softmax at scale 1.
                    using var biased = scale == 1.0 ? scores.add(bias) : scores.mul(scale).add_(bias);
                    scores.Dispose();
                    probabilities = ScaledMaskedSoftmax.Apply(biased, 1.0, causal);
                }
            }
            if (dropout > 0)
            {
                using var kept = probabilities;
                probabilities = nn.functional.dropout(kept, dropout, true);
            }
            using (probabilities)
                return probabilities.matmul(v);
        }

        /// <summary>[b, s, heads · headDim] → [b, heads, s, headDim] (a view).</summary>
        public static Tensor SplitHeads(Tensor projected, long heads, long headDim) =>
            projected.view(projected.shape[0], projected.shape[1], heads, headDim).transpose(1, 2);

        /// <summary>[b, heads, s, headDim] → [b, s, heads · headDim] (a copy).</summary>
        public static Tensor MergeHeads(Tensor context) =>
            context.transpose(1, 2).reshape(context.shape[0], context.shape[2], context.shape[1] * context.shape[3]);

        /// <summary>Rejects sizes no attention block can use.</summary>
        public static long CheckSizes(string block, long hidden, long heads, double dropout)
        {
            if (hidden <= 0 || heads <= 0)
                throw new ArgumentException($"{block} sizes must be positive, but hidden = {hidden}, heads = {heads}.");
            if (hidden % heads != 0)
                throw new ArgumentException($"{block} hidden size {hidden} is not divisible by heads = {heads}.", nameof(heads));
            if (!(dropout >= 0 && dropout < 1))
                throw new ArgumentException($"{block} dropout must be in [0, 1), but it is {dropout}.", nameof(dropout));
            return hidden / heads;
        }

        /// <summary>Rejects an input that is not <c>[batch, seq, hidden]</c>.</summary>
        public static void CheckInput(string block, string what, Tensor input, long hidden, string parameter)
        {
            ArgumentNullException.ThrowIfNull(input, parameter);
            if (input.dim() != 3 || input.shape[2] != hidden)
                throw new ArgumentException(
                    $"{block}(hidden {hidden}) expects {what} [batch, seq, {hidden}] but got [{string.Join(", ", input.shape)}].", parameter);
        }
    }
}
