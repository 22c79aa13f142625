using System;
using ModelGen.Inference;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Nn
{
    public sealed partial class Attention
    {
        /// <summary>
        /// Attends the new tokens <paramref name="input"/> over everything <paramref name="cache"/> holds, after appending their
        /// keys and values to it: the decoding step of a cached model, and each chunk of a chunked prefill. Query <c>i</c> of the
        /// chunk sits at sequence index <c>cache.Length + i</c> and sees the keys at or before it (within the cache's sliding
        /// window when it has one) that are real tokens (not padding). Rotary positions continue from the cache's length, or come
        /// from <paramref name="positions"/> (left-padded batches, whose rows start at different positions).
        /// </summary>
        /// <param name="input"><c>[batch, s, hidden]</c>: the new tokens only.</param>
        /// <param name="cache">This layer's slots: <c>kvCache.Layer(i)</c>.</param>
        /// <param name="positions">Rotary position of each new token, <c>[batch, s]</c>; null = <c>cache.Length + i</c>.</param>
        /// <param name="padding">Which new tokens are real, <c>[batch, s]</c> (1/true) and which are padding (0/false); null = all real.</param>
        /// <returns><c>[batch, s, hidden]</c>.</returns>
        /// <exception cref="ArgumentException">Wrong shapes, a cache of other sizes, or a full cache.</exception>
        /// <exception cref="InvalidOperationException">A non-causal attention (a cache serves left-to-right decoding only).</exception>
        public Tensor forward(Tensor input, KvCacheLayer cache, Tensor? positions = null, Tensor? padding = null)
        {
            ArgumentNullException.ThrowIfNull(input);
            ArgumentNullException.ThrowIfNull(cache);
            if (!Causal)
                throw new InvalidOperationException("A KV cache serves causal (left-to-right) attention; this Attention is not causal.");
            if (input.dim() != 3 || input.shape[2] != Hidden)
                throw new ArgumentException($"Attention(hidden {Hidden}) expects input [batch, seq, {Hidden}] but got [{string.Join(", ", input.shape)}].", nameof(input));

            using var scope = NewDisposeScope();
            long batch = input.shape[0], seq = input.shape[1], start = cache.Length;
            var x = ComputeInput(input); // mixed precision: one 16-bit copy for q/k/v (Attention.Autocast.cs)
            var q = SplitHeads(_qProj.call(x), batch, seq, Heads);
            var k = SplitHeads(_kProj.call(x), batch, seq, KvHeads);
            var v = SplitHeads(_vProj.call(x), batch, seq, KvHeads);
            if (_rotary is not null)
            {
                if (positions is null)
                {
                    q = _rotary.Apply(q, start);
                    k = _rotary.Apply(k, start);
                }
                else
                {
                    q = _rotary.Apply(q, positions);
                    k = _rotary.Apply(k, positions);
                }
            }

            var cached = cache.Append(k, v, padding);
            var keys = RepeatKv(cached.Keys);
            var values = RepeatKv(cached.Values);

            Tensor attended;
            var layerWindow = _slidingWindow is { } own && cache.SlidingWindow is { } shared ? Math.Min(own, shared) : _slidingWindow ?? cache.SlidingWindow;
            if (Fused && start == 0 && padding is null && keys.shape[2] == seq && (layerWindow is not { } window || window >= seq))
            {
                // A first chunk without padding, inside any sliding window: the plain causal mask, which the fused kernels
                // apply without building it (no s×s tensor at all).
                attended = nn.functional.scaled_dot_product_attention(q, keys, values, is_casual: true);
            }
            else
            {
                using var hidden = HiddenKeys(cached, start, seq, layerWindow);
                if (Fused)
                {
                    using var allowed = hidden.logical_not();
                    attended = nn.functional.scaled_dot_product_attention(q, keys, values, attn_mask: allowed);
                }
                else
                {
                    // Eager: q·kᵀ and one fp32 working copy at a time (ScaledMaskedSoftmax), each freed once read.
                    Tensor probabilities;
                    using (var keysT = keys.transpose(-2, -1))
                    using (var scores = q.matmul(keysT))
                        probabilities = ScaledMaskedSoftmax.Apply(scores, 1.0 / Math.Sqrt(HeadDim), causal: false, hidden);
                    using (probabilities)
                        attended = probabilities.matmul(values);
                }
            }
            var context = attended.transpose(1, 2).reshape(batch, seq, Heads * HeadDim);
            return scope.MoveToOuter(ResidualOutput(_oProj.call(context), input));
        }

        /// <summary>
        /// hidden[b, 1, i, j]: key j is after query i, outside the window, or padding — <c>[batch, 1, s, n]</c> bool, built with one
        /// <c>[s, n]</c> and one <c>[batch, s, n]</c> temporary. A padding query before its row's first real token would see nothing;
        /// it sees every key instead, which keeps its (unused) output finite rather than NaN.
        /// </summary>
        internal static Tensor HiddenKeys(CachedKeys cached, long start, long seq, long? window)
        {
            using var scope = NewDisposeScope();
            var queryIndex = arange(start, start + seq, dtype: ScalarType.Int64, device: cached.Indices.device).unsqueeze(1);
            var keyIndex = cached.Indices.unsqueeze(0);
            var allowed = keyIndex.le(queryIndex);
            if (window is { } w)
                allowed.logical_and_(keyIndex.gt(queryIndex - w));
            var rows = allowed.unsqueeze(0).logical_and(cached.Valid.unsqueeze(1));
            allowed.Dispose();
            using (var seesNothing = rows.any(-1, keepdim: true).logical_not())
                rows.logical_or_(seesNothing);
            return scope.MoveToOuter(rows.logical_not_().unsqueeze(1));
        }
    }
}
