using System;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Inference
{
    /// <summary>What attention reads after appending a chunk: keys and values in sequence order, their sequence indices, and which are real tokens.</summary>
    /// <param name="Keys"><c>[batch, kvHeads, n, headDim]</c> in the compute dtype.</param>
    /// <param name="Values">Like <paramref name="Keys"/>.</param>
    /// <param name="Indices">Sequence index of each of the n keys, <c>[n]</c> int64.</param>
    /// <param name="Valid">Whether each key is a real token (not padding), <c>[batch, n]</c> bool.</param>
    public readonly record struct CachedKeys(Tensor Keys, Tensor Values, Tensor Indices, Tensor Valid);

    /// <summary>One decoder layer's slots of a <see cref="KvCache"/>.</summary>
    public sealed class KvCacheLayer : IDisposable
    {
        private readonly KvCacheOptions _options;
        private readonly Tensor _keys;
        private readonly Tensor _values;
        private readonly Tensor? _keyScales;
        private readonly Tensor? _valueScales;
        private readonly Tensor _valid;

        internal KvCacheLayer(KvCacheOptions options)
        {
            _options = options;
            long capacity = options.Capacity;
            var storage = options.Int8 ? ScalarType.Int8 : options.DType;
            var shape = new[] { options.Batch, options.KvHeads, capacity, options.HeadDim };
            _keys = zeros(shape, storage, options.Device);
            _values = zeros(shape, storage, options.Device);
            if (options.Int8)
            {
                _keyScales = zeros(new[] { options.Batch, options.KvHeads, capacity, 1 }, ScalarType.Float32, options.Device);
                _valueScales = zeros(new[] { options.Batch, options.KvHeads, capacity, 1 }, ScalarType.Float32, options.Device);
            }

            _valid = zeros(new[] { options.Batch, capacity }, ScalarType.Bool, options.Device);
        }

        /// <summary>Tokens written so far: the sequence index of the next one.</summary>
        public long Length { get; private set; }

        /// <summary>The sliding window, or null for full attention.</summary>
        public long? SlidingWindow => _options.SlidingWindow;

        /// <summary>Bytes of this layer's tensors.</summary>
        public long AllocatedBytes => Bytes(_keys) + Bytes(_values) + Bytes(_keyScales) + Bytes(_valueScales) + Bytes(_valid);

        /// <summary>
        /// Writes a chunk of new keys and values (already rotated) and returns what its queries attend over: with full attention
        /// every key so far; with a sliding window the (at most window) keys before the chunk, in sequence order, followed by the
        /// chunk's. The transient is bounded by window + chunk, so long prompts are prefilled in chunks at bounded cost.
        /// </summary>
        /// <param name="keys"><c>[batch, kvHeads, s, headDim]</c>.</param>
        /// <param name="values">Like <paramref name="keys"/>.</param>
        /// <param name="valid">Which new tokens are real, <c>[batch, s]</c> (bool or 0/1); null = all.</param>
        /// <exception cref="ArgumentException">Wrong shapes, or the chunk would pass the maximum length.</exception>
        public CachedKeys Append(Tensor keys, Tensor values, Tensor? valid = null)
        {
            ArgumentNullException.ThrowIfNull(keys);
            ArgumentNullException.ThrowIfNull(values);
            var o = _options;
            if (keys.dim() != 4 || keys.shape[0] != o.Batch || keys.shape[1] != o.KvHeads || keys.shape[3] != o.HeadDim || !keys.shape.AsSpan().SequenceEqual(values.shape))
                throw new ArgumentException($"KV cache expects keys and values of [{o.Batch}, {o.KvHeads}, s, {o.HeadDim}], got [{string.Join(", ", keys.shape)}] and [{string.Join(", ", values.shape)}].", nameof(keys));
            long s = keys.shape[2];
            if (Length + s > o.MaxLength)
                throw new ArgumentException($"The KV cache holds at most {o.MaxLength} tokens (its declared maximum length); {Length} are written and {s} more were given.", nameof(keys));
            if (valid is not null && (valid.dim() != 2 || valid.shape[0] != o.Batch || valid.shape[1] != s))
                throw new ArgumentException($"The padding mask must be [{o.Batch}, {s}], got [{string.Join(", ", valid.shape)}].", nameof(valid));

            using var scope = NewDisposeScope();
            var device = _keys.device;
            var newValid = valid is null ? ones(new[] { o.Batch, s }, ScalarType.Bool, device) : valid.to(ScalarType.Bool, device);
            var newIndices = arange(Length, Length + s, dtype: ScalarType.Int64, device: device);
            var dtype = keys.dtype;

            CachedKeys result;
            if (o.SlidingWindow is null || o.SlidingWindow >= o.MaxLength)
            {
                Write(keys, values, newValid, newIndices);
                long n = Length + s;
                result = new CachedKeys(Read(_keys, _keyScales, 0, n, dtype), Read(_values, _valueScales, 0, n, dtype),
                    arange(0, n, dtype: ScalarType.Int64, device: device), _valid.narrow(1, 0, n).clone());
            }
            else
            {
                long window = o.Capacity;
                long old = Math.Min(Length, window);
                var oldIndices = arange(Length - old, Length, dtype: ScalarType.Int64, device: device);
                var oldSlots = oldIndices.remainder(window);
                var oldKeys = Gather(_keys, _keyScales, oldSlots, dtype);
                var oldValues = Gather(_values, _valueScales, oldSlots, dtype);
                var oldValid = _valid.index_select(1, oldSlots);
                result = new CachedKeys(cat(new[] { oldKeys, keys }, 2), cat(new[] { oldValues, values }, 2),
                    cat(new[] { oldIndices, newIndices }, 0), cat(new[] { oldValid, newValid }, 1));
                // Only the last `window` tokens of the chunk survive it.
                long keep = Math.Min(s, window);
                Write(keys.narrow(2, s - keep, keep), values.narrow(2, s - keep, keep), newValid.narrow(1, s - keep, keep),
                    newIndices.narrow(0, s - keep, keep));
            }

            Length += s;
            return new CachedKeys(result.Keys.MoveToOuterDisposeScope(), result.Values.MoveToOuterDisposeScope(),
                result.Indices.MoveToOuterDisposeScope(), result.Valid.MoveToOuterDisposeScope());
        }

        /// <summary>Forgets the tokens (the storage stays).</summary>
        public void Reset()
        {
            Length = 0;
            using var noGrad = no_grad();
            _valid.zero_();
        }

        /// <summary>Frees the storage.</summary>
        public void Dispose()
        {
            _keys.Dispose();
            _values.Dispose();
            _keyScales?.Dispose();
            _valueScales?.Dispose();
            _valid.Dispose();
        }

        private void Write(Tensor keys, Tensor values, Tensor valid, Tensor indices)
        {
            using var noGrad = no_grad();
            var slots = indices.remainder(_options.Capacity);
            Store(_keys, _keyScales, keys, slots);
            Store(_values, _valueScales, values, slots);
            _valid.index_copy_(1, slots, valid);
        }

        private static void Store(Tensor storage, Tensor? scales, Tensor data, Tensor slots)
        {
            if (scales is null)
            {
                storage.index_copy_(2, slots, data.to(storage.dtype));
                return;
            }

            // Symmetric absmax per vector (LLM.int8()'s vector-wise quantization, Dettmers et al. 2022, §3.1, applied to cached keys/values).
            using var scope = NewDisposeScope();
            var data32 = data.to(ScalarType.Float32);
            var absmax = data32.abs().amax(new long[] { 3 }, keepdim: true);
            var scale = where(absmax > 0, absmax / 127.0, ones_like(absmax));
            var q = (data32 / scale).round_().clamp_(-127, 127).to(ScalarType.Int8);
            storage.index_copy_(2, slots, q);
            scales.index_copy_(2, slots, scale);
        }

        private static Tensor Read(Tensor storage, Tensor? scales, long start, long count, ScalarType dtype)
        {
            var stored = storage.narrow(2, start, count);
            return scales is null ? stored.to(dtype) : stored.to(ScalarType.Float32).mul_(scales.narrow(2, start, count)).to(dtype);
        }

        private static Tensor Gather(Tensor storage, Tensor? scales, Tensor slots, ScalarType dtype)
        {
            var stored = storage.index_select(2, slots);
            return scales is null ? stored.to(dtype) : stored.to(ScalarType.Float32).mul_(scales.index_select(2, slots)).to(dtype);
        }

        private static long Bytes(Tensor? t) => t is null ? 0 : t.numel() * t.ElementSize;
    }
}
