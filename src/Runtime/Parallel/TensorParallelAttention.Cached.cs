using System;
using ModelGen.Inference;
using ModelGen.Nn;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    public sealed partial class TensorParallelAttention
    {
        /// <summary>
        /// The cache layer, positions and padding that the plain <see cref="forward(Tensor)"/> uses while a generated model runs its
        /// cached forward (<see cref="CachedDecoding.Bind"/>); null otherwise. As <see cref="Attention.Binding"/>: the user's
        /// <c>Forward</c> runs unchanged over this rank's KV cache.
        /// </summary>
        public CachedCall? Binding { get; internal set; }

        /// <summary>Why a sequence-parallel model does not decode, and what to do instead.</summary>
        internal const string SequenceParallelDecoding =
            "Cached decoding runs on whole sequences (a decoding step is one token, which cannot be split over the ranks): build the " +
            "model for generation with TensorParallelOptions(group, sequenceParallel: false); its weights and state_dict are the same.";

        /// <summary>Element type of the projections' weights: the dtype of this rank's cache.</summary>
        public ScalarType ProjectionDtype => DtypeOf(q_proj);

        /// <summary>Device of the projections' weights.</summary>
        public Device ProjectionDevice => DeviceOf(q_proj);

        /// <summary>
        /// Attends the new tokens over everything this rank's <paramref name="cache"/> holds, after appending their keys and values:
        /// <see cref="Attention.forward(Tensor, KvCacheLayer, Tensor?, Tensor?)"/> with this rank's heads. The cache holds only
        /// the <see cref="LocalKvHeads"/> key/value heads this rank's queries read (one replicated head when there are fewer
        /// key/value heads than ranks, as in training), so each rank caches <c>1/t</c> of the keys and values (or <c>1/kvHeads</c>).
        /// The row-parallel output projection sums the ranks' contexts, so every rank returns the whole block's output.
        /// </summary>
        /// <param name="input"><c>[batch, s, hidden]</c>: the new tokens only, the same on every rank of the group.</param>
        /// <param name="cache">This rank's slots for this layer (a cache made from <see cref="CachedDecoding.Options"/>).</param>
        /// <param name="positions">Rotary position of each new token, <c>[batch, s]</c>; null = <c>cache.Length + i</c>.</param>
        /// <param name="padding">Which new tokens are real, <c>[batch, s]</c>; null = all real.</param>
        /// <returns><c>[batch, s, hidden]</c>.</returns>
        /// <exception cref="InvalidOperationException">A non-causal block, or options with sequence parallelism (decoding steps
        /// of one token cannot be split along the sequence).</exception>
        /// <exception cref="ArgumentException">Wrong shapes, a cache of other sizes, or a full cache.</exception>
        public Tensor forward(Tensor input, KvCacheLayer cache, Tensor? positions = null, Tensor? padding = null)
        {
            ArgumentNullException.ThrowIfNull(input);
            ArgumentNullException.ThrowIfNull(cache);
            if (!Causal)
                throw new InvalidOperationException("A KV cache serves causal (left-to-right) attention; this TensorParallelAttention is not causal.");
            if (Options.SequenceParallel && Options.Degree > 1)
                throw new InvalidOperationException(SequenceParallelDecoding);
            if (input.dim() != 3 || input.shape[2] != Hidden)
                throw new ArgumentException($"TensorParallelAttention(hidden {Hidden}) expects input [batch, seq, {Hidden}] but got [{string.Join(", ", input.shape)}].", nameof(input));

            using var scope = NewDisposeScope();
            long batch = input.shape[0], seq = input.shape[1], start = cache.Length;
            var projected = Project(ColumnParallelLinear.Enter(input, Options));
            var q = projected[0].view(batch, seq, LocalHeads, HeadDim).transpose(1, 2);
            var k = projected[1].view(batch, seq, LocalKvHeads, HeadDim).transpose(1, 2);
            var v = projected[2].view(batch, seq, LocalKvHeads, HeadDim).transpose(1, 2);
            if (_rotary is not null)
            {
                q = positions is null ? _rotary.Apply(q, start) : _rotary.Apply(q, positions);
                k = positions is null ? _rotary.Apply(k, start) : _rotary.Apply(k, positions);
            }

            var cached = cache.Append(k, v, padding);
            var keys = RepeatKv(cached.Keys);
            var values = RepeatKv(cached.Values);
            Tensor attended;
            // The block's own window and the cache's, the smaller one binding (as Attention's cached forward).
            var window = _slidingWindow is { } own && cache.SlidingWindow is { } shared ? Math.Min(own, shared) : _slidingWindow ?? cache.SlidingWindow;
            if (Fused && start == 0 && padding is null && keys.shape[2] == seq && (window is not { } w || w >= seq))
                attended = nn.functional.scaled_dot_product_attention(q, keys, values, is_casual: true);
            else
            {
                // The same mask as the unsharded block's (causal, window, padding): heads do not change which keys a query sees.
                using var hidden = Attention.HiddenKeys(cached, start, seq, window);
                using var allowed = hidden.logical_not();
                attended = nn.functional.scaled_dot_product_attention(q, keys, values, attn_mask: allowed);
            }
            var context = attended.transpose(1, 2).reshape(batch, seq, LocalHeads * HeadDim);
            return scope.MoveToOuter(o_proj.call(context));
        }
    }
}
