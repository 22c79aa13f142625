using System.Collections.Generic;
using static TorchSharp.torch;

namespace ModelGen.Quantization
{
    /// <summary>Name, shape and element type of one stored buffer of a quantized weight.</summary>
    internal sealed record BufferSpec(string Name, long[] Shape, ScalarType DType);

    /// <summary>
    /// One quantization format for an [out, in] weight: which buffers it stores, how a float weight becomes their contents,
    /// and how they become a float weight again. Instances are immutable, so the autograd function can keep one for backward.
    /// </summary>
    internal abstract class WeightFormat
    {
        protected WeightFormat(long inFeatures, long outFeatures, int groupSize)
        {
            InFeatures = inFeatures;
            OutFeatures = outFeatures;
            GroupSize = groupSize;
        }

        public long InFeatures { get; }

        public long OutFeatures { get; }

        /// <summary>Elements sharing one scale (the whole row for Int8).</summary>
        public int GroupSize { get; }

        /// <summary>The buffers, in the order <see cref="Quantize"/> returns and <see cref="Dequantize"/> takes them.</summary>
        public abstract IReadOnlyList<BufferSpec> Buffers { get; }

        /// <summary>Quantizes a float32 [out, in] weight into new tensors matching <see cref="Buffers"/>.</summary>
        public abstract Tensor[] Quantize(Tensor weight);

        /// <summary>
        /// Rebuilds the [out, in] weight in <paramref name="dtype"/> from buffers matching <see cref="Buffers"/>.
        /// Must not throw for buffers of the declared shapes: backward calls it, and an exception there ends the process.
        /// </summary>
        public abstract Tensor Dequantize(IReadOnlyList<Tensor> buffers, ScalarType dtype);

        /// <summary>
        /// Buffers ready for <see cref="SliceRows"/> (the stored ones, or derived ones such as NF4's absmax with its second level
        /// undone), the format they follow, and the row count every tile must be a multiple of.
        /// </summary>
        public virtual (WeightFormat Format, IReadOnlyList<Tensor> Buffers, long RowAlignment) PrepareRowTiles(IReadOnlyList<Tensor> buffers) => (this, buffers, 1);

        /// <summary>The format and buffer views of rows [start, start + count) of the weight (views, no copy).</summary>
        public abstract (WeightFormat Format, Tensor[] Buffers) SliceRows(IReadOnlyList<Tensor> buffers, long start, long count);

        public static WeightFormat Create(QuantKind kind, long inFeatures, long outFeatures, int groupSize, bool doubleQuant) => kind switch
        {
            QuantKind.Int8 => new Int8WeightFormat(inFeatures, outFeatures),
            QuantKind.Int4 => new Int4WeightFormat(inFeatures, outFeatures, groupSize),
            _ => new NF4WeightFormat(inFeatures, outFeatures, groupSize, doubleQuant),
        };
    }
}
