using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Inference
{
    /// <summary>
    /// A key/value cache preallocated once to its declared size, as Hugging Face's <c>StaticCache</c> is: decoding never
    /// allocates cache memory, and <see cref="AllocatedBytes"/> is known before the first token. Keys and values are stored per
    /// key/value head (<c>[batch, kvHeads, capacity, headDim]</c>), so grouped-query attention never repeats them in storage.
    /// With <see cref="KvCacheOptions.SlidingWindow"/> the capacity is the window and slots are reused in a rolling buffer;
    /// with <see cref="KvCacheOptions.Int8"/> each key and value vector is stored as int8 with an fp32 absmax scale.
    /// </summary>
    /// <remarks>Generated attention calls <see cref="ModelGen.Nn.Attention"/>'s cached forward with <c>cache.Layer(i)</c>; see docs/inference.md.</remarks>
    public sealed class KvCache : IDisposable
    {
        private readonly KvCacheLayer[] _layers;

        /// <summary>Allocates every layer's storage now.</summary>
        /// <exception cref="ArgumentException">A size that is not positive, or a non-floating dtype.</exception>
        public KvCache(KvCacheOptions options)
        {
            ArgumentNullException.ThrowIfNull(options);
            if (options.Layers <= 0 || options.Batch <= 0 || options.KvHeads <= 0 || options.HeadDim <= 0 || options.MaxLength <= 0)
                throw new ArgumentException($"KV cache sizes must be positive, but layers = {options.Layers}, batch = {options.Batch}, kvHeads = {options.KvHeads}, headDim = {options.HeadDim}, maxLength = {options.MaxLength}.", nameof(options));
            if (options.SlidingWindow is <= 0)
                throw new ArgumentException($"A sliding window must be positive, but it is {options.SlidingWindow}.", nameof(options));
            if (!options.Int8 && options.DType is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Float64))
                throw new ArgumentException($"A KV cache stores a floating dtype (or int8 through Int8 = true), not {options.DType}.", nameof(options));
            Options = options;
            _layers = Enumerable.Range(0, options.Layers).Select(_ => new KvCacheLayer(options)).ToArray();
        }

        /// <summary>The options it was built with.</summary>
        public KvCacheOptions Options { get; }

        /// <summary>Tokens written so far (padding included): the sequence index of the next token.</summary>
        public long Length => _layers[0].Length;

        /// <summary>The cache of decoder layer <paramref name="index"/>.</summary>
        public KvCacheLayer Layer(int index) => _layers[index];

        /// <summary>All layers, in order.</summary>
        public IReadOnlyList<KvCacheLayer> Layers => _layers;

        /// <summary>Bytes of every tensor this cache allocated, counted from the tensors; equals <see cref="Bytes"/> of its options.</summary>
        public long AllocatedBytes => _layers.Sum(l => l.AllocatedBytes);

        /// <summary>
        /// The bytes a cache of these options allocates, for the memory model to mirror:
        /// <c>layers · batch · kvHeads · capacity · (2 · headDim · e + v)</c> where <c>capacity = min(window, maxLength)</c> (or
        /// <c>maxLength</c>), <c>e</c> = element size (1 for int8) and <c>v</c> = 1 byte of validity flag per slot plus, for int8,
        /// 2 · 4 bytes of fp32 scale (one for the key, one for the value). The flags are per (batch, slot), not per head: the term is
        /// <c>layers · batch · capacity</c> bytes. (The design note's <c>2 · layers · kvHeads · headDim · seq · batch · bytes</c>
        /// is the first term.)
        /// </summary>
        public static long Bytes(KvCacheOptions options)
        {
            ArgumentNullException.ThrowIfNull(options);
            // One formula for the runtime and the memory model's "kv cache" term (src/Core/Memory/KvCacheSize.cs).
            return ModelGen.Memory.KvCacheSize.Bytes(options.Layers, options.Batch, options.KvHeads, options.HeadDim,
                options.Capacity, ElementSize(options.DType), options.Int8);
        }

        /// <summary>Forgets every token (the storage stays allocated).</summary>
        public void Reset()
        {
            foreach (var layer in _layers)
                layer.Reset();
        }

        /// <summary>Frees the storage.</summary>
        public void Dispose()
        {
            foreach (var layer in _layers)
                layer.Dispose();
        }

        internal static long ElementSize(ScalarType dtype) => dtype switch
        {
            ScalarType.Float64 => 8,
            ScalarType.Float32 => 4,
            _ => 2,
        };
    }
}
