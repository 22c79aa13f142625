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
    /// pair-table gather) and its int8 → bf16 cast cost more than that GEMM at 256 rows (docs/benchmarks-quantization.md); this
    /// does the same arithmetic in registers. A 4-bit group has only sixteen values, so each group's (or block's) values are
    /// computed once as a 16-entry table and every byte of codes becomes two bf16 values by two table look-ups (<c>vpermd</c>).
    /// </summary>
    /// <remarks>
    /// The loops are compiled fully optimized at once (<c>AggressiveOptimization</c>): tiered compilation would otherwise run the first
    /// calls' intrinsics unoptimized, many times slower.
    /// Bit-for-bit the values of <see cref="WeightFormat.Dequantize"/> in bf16: Int4 is <c>bf16((q − zero)·scale)</c> and NF4 <c>bf16(bf16(value)·bf16(absmax))</c>,
    /// each product exact in fp32 and rounded once to nearest-even, as libtorch's bf16 multiply rounds. A bf16 pair is written as one
    /// 32-bit lane (first element in the low half, little-endian), so each byte's two codes land in order without a shuffle.
    /// Int8 tiles are the exception: they hold the codes themselves, exact in bf16, and the per-row scale is applied to the GEMM's
    /// output (Bf16TileDequantizer.Int8.cs).
    /// </remarks>
    internal static unsafe partial class Bf16TileDequantizer
    {
        /// <summary>Whether this machine runs it (else the ATen path is used).</summary>
        public static bool Available => Avx512F.IsSupported && Avx512BW.IsSupported;

        /// <summary>
        /// Whether the tile functions use AVX-512; otherwise they run the scalar loops, which give the same bits (tests run both,
        /// so a machine without AVX-512, as a CI host may be, still checks the arithmetic).
        /// </summary>
        internal static bool Vectors => Avx512F.IsSupported && Avx512BW.IsSupported && !ForceScalar;

        /// <summary>Tests set this to run the scalar loops on a machine that has AVX-512.</summary>
        internal static bool ForceScalar { get; set; }

        /// <summary>Rows of an Int4 weight (uint8 [N, K/2] low nibble first, bf16 scale and zero [N, K/g]) as bf16 values.</summary>
        public static void Int4(Tensor codes, Tensor scale, Tensor zero, int groupSize, long start, long count, Tensor tile) =>
            Run(count, codes.shape[1] * 2, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (first, rows, k, destination) =>
            {
                long groups = k / groupSize;
                ReadOnlySpan<byte> allCodes = codes.bytes;
                var allScales = MemoryMarshal.Cast<byte, ushort>(scale.bytes);
                var allZeros = MemoryMarshal.Cast<byte, ushort>(zero.bytes);
                var codesInOrder = Vector512.Create(0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f, 11f, 12f, 13f, 14f, 15f);
                for (long row = first; row < first + rows; row++)
                {
                    var src = allCodes.Slice(checked((int)((start + row) * (k / 2))), (int)(k / 2));
                    var scales = allScales.Slice(checked((int)((start + row) * groups)), (int)groups);
                    var zeros = allZeros.Slice(checked((int)((start + row) * groups)), (int)groups);
                    var dst = destination.Slice(checked((int)((row - first) * k)), (int)k);
                    if (!Vectors)
                    {
                        for (int p = 0; p < src.Length; p++)
                        {
                            int g = 2 * p / groupSize;
                            float s = FromBf16(scales[g]), z = FromBf16(zeros[g]);
                            dst[2 * p] = RoundToBf16(((src[p] & 0x0F) - z) * s);
                            dst[(2 * p) + 1] = RoundToBf16(((src[p] >> 4) - z) * s);
                        }
                        continue;
                    }
                    // A group has sixteen codes: its bf16 values form a 16-entry table, computed with the scalar loop's arithmetic,
                    // and vpermd (which reads only an index's low four bits) maps each byte's codes to their values.
                    var pairs = MemoryMarshal.Cast<ushort, uint>(dst);
                    for (int g = 0; g < groups; g++)
                    {
                        var low = RoundToBf16(Avx512F.Multiply(codesInOrder - Vector512.Create(FromBf16(zeros[g])), Vector512.Create(FromBf16(scales[g]))));
                        var high = Vector512.ShiftLeft(low, 16);
                        for (int p = g * groupSize / 2; p < (g + 1) * groupSize / 2; p += 16)
                        {
                            var bytes = Avx512F.ConvertToVector512UInt32(Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(src), (nuint)p)); // low nibble: element 2p
                            (Avx512F.PermuteVar16x32(low, bytes) | Avx512F.PermuteVar16x32(high, Vector512.ShiftRightLogical(bytes, 4)))
                                .StoreUnsafe(ref MemoryMarshal.GetReference(pairs), (nuint)p);
                        }
                    }
                }
            }, tile);

        /// <summary>
        /// Rows of an NF4 weight (uint8 [N·K/2] high nibble first) as bf16 values. <paramref name="absmax"/> is the layer's absmax
        /// buffers: <c>[absmax fp32]</c>, or with double quantization <c>[absmax_q uint8, scale fp32 per 256 blocks, offset fp32]</c>,
        /// undone per row here (<c>(q − 128)·scale + offset</c> in fp32, as <see cref="NF4WeightFormat"/> does, sixteen blocks per
        /// vector into a row's worth of floats), so no tensor of the absmax values is built beside the tile and the block loop is
        /// the same with and without double quantization.
        /// </summary>
        public static void NF4(Tensor codes, Tensor[] absmax, int blockSize, long start, long count, Tensor tile)
        {
            var levels = Nf4Levels.Value;
            Run(count, tile.shape[1], [MethodImpl(MethodImplOptions.AggressiveOptimization)] (first, rows, k, destination) =>
            {
                long blocks = k / blockSize;
                ReadOnlySpan<byte> allCodes = codes.bytes;
                var scales = new BlockScales(absmax);
                var values = Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(levels));
                Span<float> rowScales = blocks <= 1024 ? stackalloc float[(int)blocks] : new float[blocks];
                for (long row = first; row < first + rows; row++)
                {
                    long firstBlock = (start + row) * blocks;
                    var src = allCodes.Slice(checked((int)((start + row) * (k / 2))), (int)(k / 2));
                    var dst = destination.Slice(checked((int)((row - first) * k)), (int)k);
                    if (!Vectors)
                    {
                        for (int p = 0; p < src.Length; p++)
                        {
                            float s = scales.Rounded(firstBlock + (2 * p / blockSize));
                            dst[2 * p] = RoundToBf16(levels[src[p] >> 4] * s);
                            dst[(2 * p) + 1] = RoundToBf16(levels[src[p] & 0x0F] * s);
                        }
                        continue;
                    }
                    // As for Int4: the block's sixteen bf16 values form a table that vpermd indexes with each byte's codes. The row's
                    // absmax values are decoded first, sixteen blocks per vector, so the block loop only broadcasts one.
                    scales.DecodeRow(firstBlock, rowScales);
                    var pairs = MemoryMarshal.Cast<ushort, uint>(dst);
                    for (int b = 0; b < blocks; b++)
                    {
                        var low = RoundToBf16(Avx512F.Multiply(values, Vector512.Create(rowScales[b])));
                        var high = Vector512.ShiftLeft(low, 16);
                        for (int p = b * blockSize / 2; p < (b + 1) * blockSize / 2; p += 16)
                        {
                            var bytes = Avx512F.ConvertToVector512UInt32(Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(src), (nuint)p)); // high nibble: element 2p
                            (Avx512F.PermuteVar16x32(low, Vector512.ShiftRightLogical(bytes, 4)) | Avx512F.PermuteVar16x32(high, bytes))
                                .StoreUnsafe(ref MemoryMarshal.GetReference(pairs), (nuint)p);
                        }
                    }
                }
            }, tile);
        }

        /// <summary>
        /// Whether a weight fits the vector steps (16 or 32 bytes of codes: every supported 4-bit group or block size, 32 to 256,
        /// does, and rows must be a multiple of 32 elements) and the spans over its buffers (at most 2^31 − 1 elements).
        /// </summary>
        public static bool Fits(QuantKind kind, long inFeatures, long outFeatures, int groupSize) =>
            Memory.PrefillTile.Fits(kind, inFeatures, outFeatures, groupSize); // one rule for the runtime and the memory model

        // NF4's sixteen levels rounded to bf16, held in fp32 (as Dequantize's bf16 decode table holds them).
        private static readonly Lazy<float[]> Nf4Levels = new(() =>
        {
            using var table = NormalFloat4.ValuesTensor().to(ScalarType.BFloat16).to(ScalarType.Float32).contiguous();
            return MemoryMarshal.Cast<byte, float>(table.bytes).ToArray();
        });

        /// <summary>NF4's absmax buffers read as spans once per chunk of rows (each <c>bytes</c> call crosses into native code).</summary>
        private readonly ref struct BlockScales
        {
            private readonly ReadOnlySpan<float> _absmax;
            private readonly ReadOnlySpan<byte> _codes;
            private readonly ReadOnlySpan<float> _scale;
            private readonly float _offset;
            private readonly bool _double;

            public BlockScales(Tensor[] absmax)
            {
                _double = absmax.Length == 3;
                if (_double)
                {
                    _codes = absmax[0].bytes;
                    _scale = MemoryMarshal.Cast<byte, float>(absmax[1].bytes);
                    _offset = MemoryMarshal.Cast<byte, float>(absmax[2].bytes)[0];
                }
                else
                {
                    _absmax = MemoryMarshal.Cast<byte, float>(absmax[0].bytes);
                }
            }

            /// <summary>
            /// <see cref="Rounded"/> of the blocks <paramref name="firstBlock"/> onwards, one per element of <paramref name="into"/>,
            /// sixteen per vector with the same fp32 operations (a multiply, then an add: no fused multiply-add), so the same bits.
            /// </summary>
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            public void DecodeRow(long firstBlock, Span<float> into)
            {
                int b = 0;
                for (; b + 16 <= into.Length; b += 16)
                {
                    int block = checked((int)(firstBlock + b));
                    Vector512<float> value;
                    if (!_double)
                    {
                        value = Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(_absmax.Slice(block, 16)));
                    }
                    else
                    {
                        int second = block / QuantLayout.DoubleQuantBlockSize, last = (block + 15) / QuantLayout.DoubleQuantBlockSize;
                        if (second != last) // the sixteen blocks straddle two second-level scales: once per 256 blocks at most
                        {
                            for (int j = 0; j < 16; j++)
                                into[b + j] = Rounded(block + j);
                            continue;
                        }
                        var codes = Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(_codes.Slice(block, 16))));
                        var centred = Avx512F.Multiply(Avx512F.ConvertToVector512Single(codes) - Vector512.Create(128f), Vector512.Create(_scale[second]));
                        value = Avx512F.Add(centred, Vector512.Create(_offset));
                    }
                    Vector512.ShiftLeft(RoundToBf16(value), 16).AsSingle().StoreUnsafe(ref MemoryMarshal.GetReference(into), (nuint)b);
                }
                for (; b < into.Length; b++)
                    into[b] = Rounded(firstBlock + b);
            }

            /// <summary>Block <paramref name="block"/>'s absmax, double quantization undone, rounded to bf16 as Dequantize rounds it.</summary>
            public float Rounded(long block)
            {
                if (!_double)
                    return FromBf16(RoundToBf16(_absmax[checked((int)block)]));
                float centred = (_codes[checked((int)block)] - 128f) * _scale[checked((int)(block / QuantLayout.DoubleQuantBlockSize))];
                return FromBf16(RoundToBf16(centred + _offset));
            }
        }

        private delegate void RowsWriter(long first, long rows, long k, Span<ushort> destination);

        /// <summary>
        /// Splits the tile's rows into a few chunks per thread (so a thread that falls behind leaves work to the others) and writes
        /// them on libtorch's OpenMP team where it is found (<see cref="OpenMpTeam"/>: no hand-over between libtorch's threads and
        /// .NET's around the GEMMs), else on the thread pool, with at most libtorch's thread count at once.
        /// </summary>
        private static void Run(long count, long k, RowsWriter write, Tensor tile)
        {
            int workers = Math.Max(1, torch.get_num_threads());
            long chunks = Math.Min(count, 4L * workers);
            var data = tile.bytes;
            ushort* start = (ushort*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(data)); // native memory: it never moves
            long length = data.Length / sizeof(ushort);
            void Chunk(long chunk)
            {
                long first = count * chunk / chunks, last = count * (chunk + 1) / chunks;
                write(first, last - first, k, new Span<ushort>(start, checked((int)length)).Slice(checked((int)(first * k)), checked((int)((last - first) * k))));
            }
            if (OpenMpTeam.Available)
                OpenMpTeam.For(chunks, workers, Chunk);
            else
                System.Threading.Tasks.Parallel.For(0L, chunks, new System.Threading.Tasks.ParallelOptions { MaxDegreeOfParallelism = workers }, Chunk);
        }

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
