using System;

namespace ModelGen.Memory
{
    /// <summary>
    /// Bytes of a preallocated key/value cache: the single formula shared by the memory model's inference "kv cache" term and
    /// the runtime's <c>ModelGen.Inference.KvCache.Bytes</c>, so that what is estimated is what is allocated.
    /// </summary>
    public static class KvCacheSize
    {
        /// <summary>Bytes of the fp32 scale stored per (sequence, head, slot) for keys and again for values in an int8 cache.</summary>
        public const int Int8ScaleBytes = 4;

        /// <summary>
        /// <c>layers · batch · capacity · (kvHeads · (2 · headDim · e + (int8 ? 2 · 4 : 0)) + 1)</c>: keys and values of
        /// <paramref name="kvHeads"/> heads (grouped-query attention stores the kv heads only), the two fp32 scales of an int8
        /// cache (vector-wise absmax as LLM.int8(), Dettmers et al. 2022), and one validity byte per (sequence, slot).
        /// </summary>
        /// <param name="layers">Decoder layers holding one key and one value tensor each.</param>
        /// <param name="batch">Sequences decoded together.</param>
        /// <param name="kvHeads">Key/value heads stored per layer.</param>
        /// <param name="headDim">Features per head.</param>
        /// <param name="capacity">Token slots per layer: the sliding window when shorter than the maximum length, else the maximum length.</param>
        /// <param name="elementBytes">Bytes per key/value element in the compute dtype (ignored with <paramref name="int8"/>, which stores 1).</param>
        /// <param name="int8">Keys and values stored as int8 with fp32 scales.</param>
        /// <exception cref="ArgumentOutOfRangeException">A size is negative, or the element size is not positive.</exception>
        /// <exception cref="OverflowException">The total does not fit in 64 bits.</exception>
        public static long Bytes(long layers, long batch, long kvHeads, long headDim, long capacity, long elementBytes, bool int8)
        {
            NotNegative(layers, nameof(layers));
            NotNegative(batch, nameof(batch));
            NotNegative(kvHeads, nameof(kvHeads));
            NotNegative(headDim, nameof(headDim));
            NotNegative(capacity, nameof(capacity));
            if (!int8 && elementBytes <= 0)
                throw new ArgumentOutOfRangeException(nameof(elementBytes), elementBytes, "The element size of the cache dtype must be positive.");
            long element = int8 ? 1 : elementBytes;
            long perSlot = checked((kvHeads * ((2 * headDim * element) + (int8 ? 2 * Int8ScaleBytes : 0))) + 1);
            return checked(layers * batch * capacity * perSlot);
        }

        /// <summary>Token slots a cache keeps: the window when one is set and shorter than the maximum length, else the maximum length.</summary>
        /// <param name="maxLength">The longest sequence the cache accepts.</param>
        /// <param name="slidingWindow">The sliding window, or null for full attention.</param>
        public static long Capacity(long maxLength, long? slidingWindow) =>
            slidingWindow is { } w && w < maxLength ? w : maxLength;

        private static void NotNegative(long value, string name)
        {
            if (value < 0)
                throw new ArgumentOutOfRangeException(name, value, $"The KV cache's {name} must not be negative.");
        }
    }
}
