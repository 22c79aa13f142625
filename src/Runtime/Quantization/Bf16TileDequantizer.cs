using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Quantization
{
    /// <summary>
    /// Rebuilds rows of a quantized weight as bf16 into a reused tile, with AVX-512, for the prefill path (many rows): the tile then
    /// goes through libtorch's bf16 GEMM, which uses the CPU's bf16 matrix units. libtorch's 4-bit unpacking (nibble shifts, the
    /// pair-table gather) costs more than that GEMM at 256 rows (docs/benchmarks-quantization.md); this does the same arithmetic in
    /// registers. Int8 keeps libtorch's cast, which is vectorized and was faster than this path in a first (loaded) trial.
    /// </summary>
    /// <remarks>
    /// The loops are compiled fully optimized at once (<c>AggressiveOptimization</c>): tiered compilation would otherwise run the first
    /// calls' intrinsics unoptimized, many times slower.
    /// Bit-for-bit the values of <see cref="WeightFormat.Dequantize"/> in bf16: Int4 is <c>bf16((q − zero)·scale)</c> and NF4 <c>bf16(bf16(value)·bf16(absmax))</c>,
    /// each product exact in fp32 and rounded once to nearest-even, as libtorch's bf16 multiply rounds. A bf16 pair is written as one
    /// 32-bit lane (first element in the low half, little-endian), so each byte's two codes land in order without a shuffle.
    /// </remarks>
    internal static class Bf16TileDequantizer
    {
        /// <summary>Whether this machine runs it (else the ATen path is used); tests turn it off to compare.</summary>
        public static bool Available => AllowVectors && Avx512F.IsSupported && Avx512BW.IsSupported;

        /// <summary>Tests turn the vector path off to compare against the ATen path.</summary>
        internal static bool AllowVectors { get; set; } = true;

        /// <summary>
        /// Whether the tile functions use AVX-512; otherwise they run the scalar loops, which give the same bits (tests run both,
        /// so a machine without AVX-512, as a CI host may be, still checks the arithmetic).
        /// </summary>
        internal static bool Vectors => Avx512F.IsSupported && Avx512BW.IsSupported && !ForceScalar;

        /// <summary>Tests set this to run the scalar loops on a machine that has AVX-512.</summary>
        internal static bool ForceScalar { get; set; }

        /// <summary>Rows of an Int4 weight (uint8 [N, K/2] low nibble first, bf16 scale and zero [N, K/g]) as bf16 values.</summary>
        public static void Int4(Tensor codes, Tensor scale, Tensor zero, int groupSize, long start, long count, Tensor tile) =>
            Run(count, codes.shape[1] * 2, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (row, k, dst) =>
            {
                long groups = k / groupSize;
                var src = codes.bytes.Slice(checked((int)((start + row) * (k / 2))), (int)(k / 2));
                var scales = MemoryMarshal.Cast<byte, ushort>(scale.bytes).Slice(checked((int)((start + row) * groups)), (int)groups);
                var zeros = MemoryMarshal.Cast<byte, ushort>(zero.bytes).Slice(checked((int)((start + row) * groups)), (int)groups);
                if (!Vectors)
                {
                    for (int p = 0; p < src.Length; p++)
                    {
                        int g = 2 * p / groupSize;
                        float s = FromBf16(scales[g]), z = FromBf16(zeros[g]);
                        dst[2 * p] = RoundToBf16(((src[p] & 0x0F) - z) * s);
                        dst[(2 * p) + 1] = RoundToBf16(((src[p] >> 4) - z) * s);
                    }
                    return;
                }
                var pairs = MemoryMarshal.Cast<ushort, uint>(dst);
                var mask = Vector128.Create((byte)0x0F);
                for (int g = 0; g < groups; g++)
                {
                    var s = Vector512.Create(FromBf16(scales[g]));
                    var z = Vector512.Create(FromBf16(zeros[g]));
                    for (int p = g * groupSize / 2; p < (g + 1) * groupSize / 2; p += 16)
                    {
                        var bytes = Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(src), (nuint)p);
                        var first = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(bytes & mask));            // element 2p
                        var second = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.ShiftRightLogical(bytes, 4)));
                        Pack(Avx512F.Multiply(first - z, s), Avx512F.Multiply(second - z, s)).StoreUnsafe(ref MemoryMarshal.GetReference(pairs), (nuint)p);
                    }
                }
            }, tile);

        /// <summary>Rows of an NF4 weight (uint8 [N·K/2] high nibble first, fp32 absmax per block, double quantization undone) as bf16 values.</summary>
        public static void NF4(Tensor codes, Tensor absmax, int blockSize, long start, long count, Tensor tile)
        {
            using var table = NormalFloat4.ValuesTensor().to(ScalarType.BFloat16).to(ScalarType.Float32).contiguous();
            using var scales = absmax.to(ScalarType.BFloat16).to(ScalarType.Float32).contiguous();
            var levels = MemoryMarshal.Cast<byte, float>(table.bytes).ToArray();
            var values = Vectors ? Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(levels)) : default;
            Run(count, tile.shape[1], [MethodImpl(MethodImplOptions.AggressiveOptimization)] (row, k, dst) =>
            {
                long blocks = k / blockSize;
                var src = codes.bytes.Slice(checked((int)((start + row) * (k / 2))), (int)(k / 2));
                var rowScales = MemoryMarshal.Cast<byte, float>(scales.bytes).Slice(checked((int)((start + row) * blocks)), (int)blocks);
                if (!Vectors)
                {
                    for (int p = 0; p < src.Length; p++)
                    {
                        float s = rowScales[2 * p / blockSize];
                        dst[2 * p] = RoundToBf16(levels[src[p] >> 4] * s);
                        dst[(2 * p) + 1] = RoundToBf16(levels[src[p] & 0x0F] * s);
                    }
                    return;
                }
                var pairs = MemoryMarshal.Cast<ushort, uint>(dst);
                var mask = Vector128.Create((byte)0x0F);
                for (int b = 0; b < blocks; b++)
                {
                    var s = Vector512.Create(rowScales[b]);
                    for (int p = b * blockSize / 2; p < (b + 1) * blockSize / 2; p += 16)
                    {
                        var bytes = Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(src), (nuint)p);
                        var first = Avx512F.PermuteVar16x32(values, Avx512F.ConvertToVector512Int32(Vector128.ShiftRightLogical(bytes, 4))); // element 2p
                        var second = Avx512F.PermuteVar16x32(values, Avx512F.ConvertToVector512Int32(bytes & mask));
                        Pack(Avx512F.Multiply(first, s), Avx512F.Multiply(second, s)).StoreUnsafe(ref MemoryMarshal.GetReference(pairs), (nuint)p);
                    }
                }
            }, tile);
        }

        /// <summary>Whether a format's rows fit the 16-byte steps: every supported group or block size does (32 to 256).</summary>
        public static bool Fits(long inFeatures, int groupSize) => groupSize % 32 == 0 && inFeatures % 32 == 0;

        private delegate void RowWriter(long row, long k, Span<ushort> destination);

        private static void Run(long count, long k, RowWriter write, Tensor tile)
        {
            System.Threading.Tasks.Parallel.For(0L, count, new System.Threading.Tasks.ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, torch.get_num_threads()) },
                row => write(row, k, MemoryMarshal.Cast<byte, ushort>(tile.bytes).Slice(checked((int)(row * k)), (int)k)));
        }

        /// <summary>Two fp32 vectors rounded to bf16 (nearest, ties to even) and paired: lane i = first[i] | second[i] &lt;&lt; 16.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<uint> Pack(Vector512<float> first, Vector512<float> second) =>
            RoundToBf16(first) | Vector512.ShiftLeft(RoundToBf16(second), 16);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<uint> RoundToBf16(Vector512<float> value)
        {
            var bits = value.AsUInt32();
            var lsb = Vector512.ShiftRightLogical(bits, 16) & Vector512.Create(1u);
            return Vector512.ShiftRightLogical(bits + Vector512.Create(0x7FFFu) + lsb, 16);
        }

        /// <summary>The scalar twin of the vector rounding: nearest, ties to even, as the lanes above compute it.</summary>
        private static ushort RoundToBf16(float value)
        {
            var bits = BitConverter.SingleToUInt32Bits(value);
            return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
        }

        private static float FromBf16(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);
    }
}
