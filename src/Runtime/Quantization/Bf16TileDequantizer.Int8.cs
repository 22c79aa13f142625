using System;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static TorchSharp.torch;

namespace ModelGen.Quantization
{
    internal static partial class Bf16TileDequantizer
    {
        /// <summary>
        /// Rows of an Int8 weight (int8 [N, K]) as the bf16 values of the codes themselves, with no scale: every integer of magnitude
        /// at most 128 has at most 8 significant bits, so <c>bf16(q)</c> is exact (no multiply, no rounding). The per-row scale is
        /// applied to the GEMM's output instead (<see cref="ScaleOutput"/>): (x·qᵀ)·s = x·(q·s)ᵀ, with s·x's rows costing
        /// rows × N multiplies where the weight would cost N × K. With AVX-512 VBMI each 64 codes become their values by byte
        /// look-ups in fixed tables (<see cref="Int8RowTables"/>); without it two codes per 32-bit lane are converted.
        /// </summary>
        public static void Int8(Tensor codes, long start, long count, Tensor tile) =>
            Run(count, codes.shape[1], [MethodImpl(MethodImplOptions.AggressiveOptimization)] (first, rows, k, destination) =>
            {
                var allCodes = MemoryMarshal.Cast<byte, sbyte>(codes.bytes);
                for (long row = first; row < first + rows; row++)
                {
                    var src = allCodes.Slice(checked((int)((start + row) * k)), (int)k);
                    var dst = destination.Slice(checked((int)((row - first) * k)), (int)k);
                    if (!Vectors)
                    {
                        for (int i = 0; i < src.Length; i++)
                            dst[i] = Bf16OfCode(src[i]);
                        continue;
                    }
                    if (!ByteTables || !Int8RowTables(src, dst))
                        Int8RowConverted(src, dst);
                }
            }, tile);

        /// <summary>
        /// One Int8 row by converting: two codes per 32-bit lane, in the order they are stored (a 16-bit word, odd &lt;&lt; 8 | even,
        /// sign-extended, and each byte sign-extended out of it), converted to fp32, whose upper half is the exact bf16 value.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Int8RowConverted(ReadOnlySpan<sbyte> src, Span<ushort> dst)
        {
            var words = MemoryMarshal.Cast<sbyte, short>(src);
            var pairs = MemoryMarshal.Cast<ushort, uint>(dst);
            var upper = Vector512.Create(0xFFFF0000u);
            for (int i = 0; i < words.Length; i += 16)
            {
                var lanes = Avx512F.ConvertToVector512Int32(Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(words), (nuint)i));
                var even = Avx512F.ConvertToVector512Single(Avx512F.ShiftRightArithmetic(Avx512F.ShiftLeftLogical(lanes, 24), 24)).AsUInt32();
                var odd = Avx512F.ConvertToVector512Single(Avx512F.ShiftRightArithmetic(lanes, 8)).AsUInt32();
                (Vector512.ShiftRightLogical(even, 16) | (odd & upper)).StoreUnsafe(ref MemoryMarshal.GetReference(pairs), (nuint)i);
            }
        }

        /// <summary>
        /// One Int8 row by table look-ups. A code's bf16 value is its magnitude's with the sign bit set for a negative code, so a
        /// low-byte and a high-byte table of the 128 magnitudes' values (2 registers each, the same for every row) serve every code:
        /// <c>vpermi2b</c> looks up 64 bytes in 128 entries by the magnitude's low seven bits, and a last <c>vpermi2b</c> pair
        /// interleaves low and high bytes into 32 bf16 values each. The one code whose magnitude does not fit seven bits, −128 (never
        /// written by quantizing, but a loaded state may hold it), is caught by a running minimum and its row converted instead.
        /// </summary>
        /// <returns>False when the row holds −128 (what it wrote is then to be overwritten).</returns>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static bool Int8RowTables(ReadOnlySpan<sbyte> src, Span<ushort> dst)
        {
            ref byte t = ref MemoryMarshal.GetArrayDataReference(MagnitudeBytes);
            Vector512<byte> low0 = Vector512.LoadUnsafe(ref t, 0), low1 = Vector512.LoadUnsafe(ref t, 64);
            Vector512<byte> high0 = Vector512.LoadUnsafe(ref t, 128), high1 = Vector512.LoadUnsafe(ref t, 192);
            var firstHalf = Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(InterleaveFirst));
            var secondHalf = Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(InterleaveSecond));
            var sign = Vector512.Create((byte)0x80);
            var lowest = Vector512<sbyte>.Zero;
            ref sbyte from = ref MemoryMarshal.GetReference(src);
            ref byte to = ref Unsafe.As<ushort, byte>(ref MemoryMarshal.GetReference(dst));
            for (int i = 0; i < src.Length; i += 64)
            {
                // A row of 32 mod 64 codes ends with a half vector: the upper half of the look-up is not stored.
                bool half = src.Length - i < 64;
                var codes = half ? Vector256.LoadUnsafe(ref from, (nuint)i).ToVector512() : Vector512.LoadUnsafe(ref from, (nuint)i);
                lowest = Avx512BW.Min(lowest, codes);
                var magnitudes = Avx512BW.Abs(codes);
                var lows = Avx512Vbmi.PermuteVar64x8x2(low0, magnitudes, low1);
                var highs = Avx512Vbmi.PermuteVar64x8x2(high0, magnitudes, high1) | (codes.AsByte() & sign);
                Avx512Vbmi.PermuteVar64x8x2(lows, firstHalf, highs).StoreUnsafe(ref to, (nuint)(2 * i));
                if (!half)
                    Avx512Vbmi.PermuteVar64x8x2(lows, secondHalf, highs).StoreUnsafe(ref to, (nuint)((2 * i) + 64));
            }
            return Vector512.LessThanAll(Vector512.Create((sbyte)-128), lowest);
        }

        /// <summary>
        /// Finishes an Int8 prefill output in place: <c>y[r, j] = bf16(y[r, j]·scale[j] + bias[j])</c> in fp32 with one fused
        /// multiply-add, the fp32 scale unrounded. <paramref name="output"/> is contiguous bf16 [rows, N], <paramref name="scale"/>
        /// fp32 [N], <paramref name="bias"/> bf16 [N] or null. One pass over the output (rows × N), on the same threads as the tiles.
        /// </summary>
        /// <remarks>
        /// A 32-bit lane holds two bf16 values, an even column's in its low half and the next column's in its high half, so a
        /// vector of 32 values is read, widened (a shift and a mask), scaled, rounded and written back as one vector, with no
        /// widening or narrowing shuffles; the scales are laid out once per call to match (16 even columns, then 16 odd ones).
        /// </remarks>
        public static void ScaleOutput(Tensor output, Tensor scale, Tensor? bias)
        {
            // The spans below read raw bytes: a wrong dtype would be read as garbage, not converted.
            if (output.dtype != ScalarType.BFloat16 || scale.dtype != ScalarType.Float32 || (bias is not null && bias.dtype != ScalarType.BFloat16))
                throw new ArgumentException($"Int8's output scaling expects a bf16 output and bias and an fp32 scale, got {output.dtype}, {scale.dtype} and {bias?.dtype}.");
            int width = checked((int)output.shape[1]), vectorWidth = Vectors ? width / 32 * 32 : 0;
            var paired = System.Buffers.ArrayPool<float>.Shared.Rent(vectorWidth); // no fresh allocation per call
            var columnScales = MemoryMarshal.Cast<byte, float>(scale.bytes);
            for (int j = 0; j < vectorWidth; j += 32)
            {
                for (int i = 0; i < 16; i++)
                {
                    paired[j + i] = columnScales[j + (2 * i)];
                    paired[j + 16 + i] = columnScales[j + (2 * i) + 1];
                }
            }
            try
            {
                ScaleRows(output, scale, bias, paired, width, vectorWidth);
            }
            finally
            {
                System.Buffers.ArrayPool<float>.Shared.Return(paired);
            }
        }

        private static void ScaleRows(Tensor output, Tensor scale, Tensor? bias, float[] paired, int width, int vectorWidth) =>
            Run(output.shape[0], width, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (first, rows, n, destination) =>
            {
                var scales = MemoryMarshal.Cast<byte, float>(scale.bytes);
                ReadOnlySpan<ushort> biases = bias is null ? default : MemoryMarshal.Cast<byte, ushort>(bias.bytes);
                ref uint biasPairs = ref Unsafe.As<ushort, uint>(ref MemoryMarshal.GetReference(biases));
                ref float pairScales = ref MemoryMarshal.GetArrayDataReference(paired);
                var upper = Vector512.Create(0xFFFF0000u);
                for (long row = 0; row < rows; row++)
                {
                    var y = destination.Slice(checked((int)(row * n)), width);
                    ref uint pairs = ref Unsafe.As<ushort, uint>(ref MemoryMarshal.GetReference(y));
                    for (int j = 0; j < vectorWidth; j += 32)
                    {
                        var lanes = Vector512.LoadUnsafe(ref pairs, (nuint)(j / 2));
                        var even = Vector512.ShiftLeft(lanes, 16).AsSingle();
                        var odd = (lanes & upper).AsSingle();
                        var evenScale = Vector512.LoadUnsafe(ref pairScales, (nuint)j);
                        var oddScale = Vector512.LoadUnsafe(ref pairScales, (nuint)(j + 16));
                        if (biases.IsEmpty)
                        {
                            even = Avx512F.Multiply(even, evenScale);
                            odd = Avx512F.Multiply(odd, oddScale);
                        }
                        else
                        {
                            var biasLanes = Vector512.LoadUnsafe(ref biasPairs, (nuint)(j / 2));
                            even = Avx512F.FusedMultiplyAdd(even, evenScale, Vector512.ShiftLeft(biasLanes, 16).AsSingle());
                            odd = Avx512F.FusedMultiplyAdd(odd, oddScale, (biasLanes & upper).AsSingle());
                        }
                        // The even value rounded into the low half, the odd one rounded in place in the high half.
                        var oddBits = odd.AsUInt32();
                        var oddRounded = (oddBits + Vector512.Create(0x7FFFu) + (Vector512.ShiftRightLogical(oddBits, 16) & Vector512.Create(1u))) & upper;
                        (RoundToBf16(even) | oddRounded).StoreUnsafe(ref pairs, (nuint)(j / 2));
                    }
                    for (int j = vectorWidth; j < width; j++)
                    {
                        float value = FromBf16(y[j]);
                        y[j] = RoundToBf16(biases.IsEmpty ? value * scales[j] : MathF.FusedMultiplyAdd(value, scales[j], FromBf16(biases[j])));
                    }
                }
            }, output);

        // An int8 code's bf16 bits: the upper half of its fp32 bits, exact (at most 8 significant bits).
        private static ushort Bf16OfCode(sbyte code) => (ushort)(BitConverter.SingleToUInt32Bits(code) >> 16);

        /// <summary>Whether Int8 tiles use the byte tables (AVX-512 VBMI); tests turn them off to check the converting loop too.</summary>
        internal static bool ByteTables => Avx512Vbmi.IsSupported && !ForceNoByteTables;

        /// <summary>Tests set this to run the Int8 converting vector loop on a machine with AVX-512 VBMI.</summary>
        internal static bool ForceNoByteTables { get; set; }

        // The bf16 values of the magnitudes 0..127: their low bytes, then their high bytes.
        private static readonly byte[] MagnitudeBytes = Enumerable.Range(0, 128).Select(m => (byte)Bf16OfCode((sbyte)m))
            .Concat(Enumerable.Range(0, 128).Select(m => (byte)(Bf16OfCode((sbyte)m) >> 8))).ToArray();

        // vpermi2b indices that interleave low bytes (0..63) and high bytes (64..127) into bf16 values 0..31 and 32..63.
        private static readonly byte[] InterleaveFirst = Enumerable.Range(0, 64).Select(j => (byte)((j % 2 * 64) + (j / 2))).ToArray();
        private static readonly byte[] InterleaveSecond = Enumerable.Range(0, 64).Select(j => (byte)((j % 2 * 64) + 32 + (j / 2))).ToArray();
    }
}
