using static TorchSharp.torch;

namespace ModelGen.Inference
{
    /// <summary>The shape and storage of a <see cref="KvCache"/>.</summary>
    public sealed record KvCacheOptions
    {
        /// <summary>Decoder layers (one key and one value tensor each).</summary>
        public required int Layers { get; init; }

        /// <summary>Sequences decoded together.</summary>
        public required long Batch { get; init; }

        /// <summary>Key/value heads (grouped-query attention stores these, never the query heads).</summary>
        public required long KvHeads { get; init; }

        /// <summary>Features per head.</summary>
        public required long HeadDim { get; init; }

        /// <summary>The longest sequence (prompt plus generated tokens, padding included) the cache accepts.</summary>
        public required long MaxLength { get; init; }

        /// <summary>Element type of keys and values when not <see cref="Int8"/> (the model's compute dtype).</summary>
        public ScalarType DType { get; init; } = ScalarType.Float32;

        /// <summary>Store keys and values as int8 with one fp32 scale per (sequence, head, token): about half of bf16's bytes.</summary>
        public bool Int8 { get; init; }

        /// <summary>
        /// Sliding-window attention (Mistral: 4096): each token attends to itself and the <c>SlidingWindow − 1</c> tokens before it,
        /// and the cache keeps only the last <c>SlidingWindow</c> tokens in a rolling buffer. Null = full attention.
        /// </summary>
        public long? SlidingWindow { get; init; }

        /// <summary>Device of the cache tensors; the default device when null.</summary>
        public Device? Device { get; init; }

        /// <summary>Token slots per layer: the window when one is set (and shorter than the maximum length), else the maximum length.</summary>
        public long Capacity => ModelGen.Memory.KvCacheSize.Capacity(MaxLength, SlidingWindow);
    }
}
