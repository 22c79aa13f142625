using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using ModelGen.Nn;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Inference
{
    /// <summary>
    /// What a generated decoder's <see cref="ICachedLanguageModel"/> members call. The cache is sized from the model's own causal
    /// <see cref="Attention"/> modules (one cache layer each, their kv heads, head dim and weight dtype: the sizes the config
    /// gave them), and the cached forward runs the user's unchanged <c>Forward</c> with every attention bound to its cache layer.
    /// </summary>
    public static partial class CachedDecoding
    {
        private static readonly ConditionalWeakTable<nn.Module, CachedCall> Active = new();

        /// <summary>The causal attention modules of <paramref name="model"/>, in registration order: cache layer <c>i</c> is the <c>i</c>-th.</summary>
        /// <param name="model">The model.</param>
        public static IReadOnlyList<Attention> CausalAttentions(nn.Module model)
        {
            ArgumentNullException.ThrowIfNull(model);
            return model.modules().OfType<Attention>().Where(a => a.Causal).ToList();
        }

        /// <summary>Options of a cache for <paramref name="model"/>: exactly what its causal attention modules read and write.</summary>
        /// <param name="model">The model.</param>
        /// <param name="batch">Sequences decoded together.</param>
        /// <param name="maxLength">Longest sequence (prompt plus generated tokens, padding included).</param>
        /// <param name="int8">Int8 keys and values (<see cref="KvCacheOptions.Int8"/>).</param>
        /// <param name="slidingWindow">Rolling-buffer window (<see cref="KvCacheOptions.SlidingWindow"/>), or null.</param>
        /// <exception cref="InvalidOperationException">The model has no causal attention, or its attention modules differ in kv heads, head dim or dtype.</exception>
        public static KvCacheOptions Options(nn.Module model, long batch, long maxLength, bool int8 = false, long? slidingWindow = null)
        {
            var writers = CacheWriters(model); // CachedDecoding.TensorParallel.cs: plain and tensor-parallel attention
            if (writers.Count == 0)
                throw new InvalidOperationException($"{model.GetName()} has no causal Attention: there is nothing to cache.");
            var first = writers[0];
            var dtype = first.Dtype;
            var device = first.Device;
            foreach (var a in writers)
            {
                if (a.KvHeads != first.KvHeads || a.HeadDim != first.HeadDim || a.Dtype != dtype)
                    throw new InvalidOperationException(
                        $"{model.GetName()}: one KV cache needs equal kv heads, head dim and dtype in every attention, but found {first.KvHeads}×{first.HeadDim} {dtype} and {a.KvHeads}×{a.HeadDim} {a.Dtype}.");
            }
            return new KvCacheOptions
            {
                Layers = writers.Count, Batch = batch, KvHeads = first.KvHeads, HeadDim = first.HeadDim, MaxLength = maxLength,
                DType = dtype, Int8 = int8, SlidingWindow = slidingWindow, Device = device,
            };
        }

        /// <summary>
        /// Binds causal attention <c>i</c> of <paramref name="model"/> to <c>cache.Layer(i)</c> (and the positions and padding of the
        /// new tokens) until the result is disposed; <see cref="Positions"/> then returns <paramref name="positions"/>.
        /// </summary>
        /// <param name="model">The model.</param>
        /// <param name="cache">A cache made from <see cref="Options"/> of this model.</param>
        /// <param name="positions">Position of each new token, <c>[batch, s]</c>.</param>
        /// <param name="padding">1 for a real token, 0 for padding, <c>[batch, s]</c>.</param>
        /// <exception cref="ArgumentException">The cache has another number of layers than the model has causal attention modules.</exception>
        /// <exception cref="InvalidOperationException">The model is already running a cached forward.</exception>
        public static IDisposable Bind(nn.Module model, KvCache cache, Tensor positions, Tensor padding)
        {
            ArgumentNullException.ThrowIfNull(cache);
            ArgumentNullException.ThrowIfNull(positions);
            ArgumentNullException.ThrowIfNull(padding);
            var attentions = CacheWriters(model);
            if (cache.Layers.Count != attentions.Count)
                throw new ArgumentException($"{model.GetName()} has {attentions.Count} causal attention layers but the cache has {cache.Layers.Count}.", nameof(cache));
            if (Active.TryGetValue(model, out _))
                throw new InvalidOperationException($"{model.GetName()} is already running a cached forward (one at a time per model).");
            for (var i = 0; i < attentions.Count; i++)
                attentions[i].Bind(new CachedCall(cache.Layer(i), positions, padding));
            Active.Add(model, new CachedCall(cache.Layer(0), positions, padding));
            return new Binding(model, attentions);
        }

        /// <summary>
        /// The cached forward of a generated decoder: the user's forward over the new <paramref name="tokens"/>, without gradients
        /// (a checkpoint's recompute would append to the cache twice), with every causal attention bound to its cache layer.
        /// </summary>
        /// <param name="model">The model.</param>
        /// <param name="tokens">New token ids, <c>[batch, s]</c>.</param>
        /// <param name="cache">The cache holding every earlier token.</param>
        /// <param name="positions">Position of each new token, <c>[batch, s]</c>.</param>
        /// <param name="padding">1 for a real token, 0 for padding, <c>[batch, s]</c>.</param>
        /// <returns>Whatever the model's forward returns (logits of the new tokens).</returns>
        public static Tensor Forward(nn.Module<Tensor, Tensor> model, Tensor tokens, KvCache cache, Tensor positions, Tensor padding)
        {
            ArgumentNullException.ThrowIfNull(model);
            using var noGrad = torch.no_grad();
            using var bound = Bind(model, cache, positions, padding);
            return model.call(tokens);
        }

        /// <summary>
        /// The cached forward of a generated decoder whose <c>Forward</c> takes optional inputs besides the tokens (a padding mask,
        /// position ids): <paramref name="forward"/> calls the module's forward with the tokens alone.
        /// </summary>
        /// <param name="model">The model.</param>
        /// <param name="forward">The model's forward over token ids, the other inputs left out.</param>
        /// <param name="tokens">New token ids, <c>[batch, s]</c>.</param>
        /// <param name="cache">The cache holding every earlier token.</param>
        /// <param name="positions">Position of each new token, <c>[batch, s]</c>.</param>
        /// <param name="padding">1 for a real token, 0 for padding, <c>[batch, s]</c>.</param>
        /// <returns>Whatever the forward returns (logits of the new tokens).</returns>
        public static Tensor Forward(nn.Module model, Func<Tensor, Tensor> forward, Tensor tokens, KvCache cache, Tensor positions, Tensor padding)
        {
            ArgumentNullException.ThrowIfNull(model);
            ArgumentNullException.ThrowIfNull(forward);
            using var noGrad = torch.no_grad();
            using var bound = Bind(model, cache, positions, padding);
            return forward(tokens);
        }

        /// <summary>
        /// Positions of <paramref name="tokens"/> (<c>[batch, s]</c>) for a learned position embedding (GPT-2's <c>wpe</c>): during a
        /// cached forward, the bound positions (they continue across calls and skip left padding); otherwise <c>0 … s−1</c>.
        /// </summary>
        /// <param name="model">The model.</param>
        /// <param name="tokens">Token ids, <c>[batch, s]</c> or <c>[s]</c>.</param>
        public static Tensor Positions(nn.Module model, Tensor tokens)
        {
            ArgumentNullException.ThrowIfNull(model);
            ArgumentNullException.ThrowIfNull(tokens);
            if (Active.TryGetValue(model, out var bound))
                return bound.Positions.to(ScalarType.Int64);
            return torch.arange(tokens.shape[^1], dtype: ScalarType.Int64, device: tokens.device);
        }

        private sealed class Binding : IDisposable
        {
            private readonly nn.Module _model;
            private readonly IReadOnlyList<CacheWriter> _attentions;

            public Binding(nn.Module model, IReadOnlyList<CacheWriter> attentions)
            {
                _model = model;
                _attentions = attentions;
            }

            public void Dispose()
            {
                foreach (var a in _attentions)
                    a.Bind(null);
                Active.Remove(_model);
            }
        }
    }
}
