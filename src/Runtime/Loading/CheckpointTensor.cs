using System;
using static TorchSharp.torch;

namespace ModelGen.Loading
{
    /// <summary>What a checkpoint file says about one stored tensor, read from its header before any data is touched.</summary>
    /// <param name="Name">The tensor's key in the checkpoint (its state_dict name there).</param>
    /// <param name="DType">Element type as stored.</param>
    /// <param name="Shape">Shape as stored.</param>
    public sealed record CheckpointTensor(string Name, ScalarType DType, long[] Shape)
    {
        /// <summary>Number of elements: the product of <see cref="Shape"/> (1 for a scalar).</summary>
        public long ElementCount
        {
            get
            {
                long n = 1;
                foreach (var d in Shape)
                    n = checked(n * d);
                return n;
            }
        }

        /// <summary>Bytes of the stored data: elements times the element size of <see cref="DType"/>.</summary>
        public long ByteLength => checked(ElementCount * DTypeNames.ElementSize(DType));

        /// <summary>The shape as <c>[a, b, …]</c>, as error messages print it.</summary>
        public string ShapeText => FormatShape(Shape);

        internal static string FormatShape(ReadOnlySpan<long> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";
    }
}
