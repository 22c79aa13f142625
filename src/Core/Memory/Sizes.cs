using System;

namespace ModelGen.Memory
{
    /// <summary>Element sizes and the rounding rules every term uses.</summary>
    internal static class Sizes
    {
        /// <summary>Bytes per element of a storage precision.</summary>
        public static int Of(DType dtype) => dtype switch
        {
            DType.Float32 => 4,
            DType.BFloat16 => 2,
            DType.Float16 => 2,
            _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, $"{dtype} is not a ModelGen DType (Float32, BFloat16, Float16)."),
        };

        /// <summary>fp32: loss, softmax statistics, master weights and optimizer moments.</summary>
        public const int Fp32 = 4;

        /// <summary>int64: token ids that an embedding saves for its backward.</summary>
        public const int Int64 = 8;

        /// <summary>
        /// One rank's share of <paramref name="size"/> split <paramref name="ways"/> ways. Uneven splits round up: the largest
        /// rank's share is what must fit (the analyzers report a size that does not divide).
        /// </summary>
        public static long Share(long size, long ways) => ways <= 1 ? size : (size + ways - 1) / ways;
    }
}
