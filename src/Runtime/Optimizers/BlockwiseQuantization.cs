using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace ModelGen.Optimizers
{
    /// <summary>
    /// Block-wise 8-bit quantization with the dynamic (exponent) code of Dettmers et al. 2022, "8-bit Optimizers via Block-wise
    /// Quantization" (§2.1–2.2): a tensor is cut into blocks of <c>blockSize</c> elements, each block is divided by its own absolute
    /// maximum (kept in fp32), and every normalized value in [-1, 1] is stored as the index (one byte) of the nearest of 256 values of
    /// a dynamic code. Used by <see cref="AdamW8Bit"/> for its two moments.
    /// </summary>
    /// <remarks>
    /// <para>The dynamic code (paper §2.2, "dynamic tree quantization"): reading a code's bits from the most significant, the signed
    /// code spends one bit on the sign; then a run of <c>e</c> zero bits gives the decimal exponent (magnitude <c>10^-e</c>,
    /// <c>e</c> = 0…6); the first one bit is an indicator; the remaining bits are a linear fraction in [0.1, 1]. With <c>f</c> fraction
    /// bits, the <c>2^f</c> values are the midpoints of <c>2^f</c> equal bins of [0.1, 1]. Large exponents leave few fraction bits, so
    /// the code is fine near 1 and reaches down to 10^-6 with coarse steps: small moments keep their order of magnitude.</para>
    /// <para>The unsigned code (for Adam's second moment, which is never negative) has no sign bit, so every exponent gets one more
    /// fraction bit. In both codes the all-zero pattern is 0 and the one remaining pattern is exactly 1.0, so a block's largest element
    /// is stored without error. Counts: signed 2·(64+32+…+1) + 0 + 1.0 = 256; unsigned (128+64+…+2) + 0 + 1.0 = 256.</para>
    /// </remarks>
    public static class BlockwiseQuantization
    {
        /// <summary>The block size of the paper (§2.1): 2048 elements share one absmax.</summary>
        public const int DefaultBlockSize = 2048;

        /// <summary>Decimal exponents the code spans: magnitudes 10^0 … 10^-6 (paper §2.2).</summary>
        private const int ExponentLevels = 7;

        private static readonly float[] SignedCode = BuildDynamicCode(signed: true);
        private static readonly float[] UnsignedCode = BuildDynamicCode(signed: false);

        /// <summary>The 256 values of the dynamic code, ascending; index = stored byte.</summary>
        /// <param name="signed">True for values in [-1, 1] (first moment), false for [0, 1] (second moment).</param>
        public static IReadOnlyList<float> DynamicCode(bool signed) => Array.AsReadOnly(signed ? SignedCode : UnsignedCode);

        /// <summary>Number of blocks (and so of fp32 absmax values) for <paramref name="elements"/> elements.</summary>
        /// <exception cref="ArgumentOutOfRangeException">A negative count or a non-positive block size.</exception>
        public static long BlockCount(long elements, int blockSize)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(elements);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
            return (elements + blockSize - 1) / blockSize;
        }

        /// <summary>
        /// Quantizes <paramref name="values"/> (any shape, floating) into <paramref name="codes"/> (uint8, one per element, same number
        /// of elements) and <paramref name="absmax"/> (float32, one per block), both written in place.
        /// </summary>
        /// <param name="values">The values to store.</param>
        /// <param name="signed">Which code: signed (first moment) or unsigned (second moment; negative values would clamp to 0).</param>
        /// <param name="blockSize">Elements per absmax.</param>
        /// <param name="codes">Destination of the code indices: uint8, <c>values.numel()</c> elements, contiguous.</param>
        /// <param name="absmax">Destination of the block maxima: float32, <see cref="BlockCount"/> elements, contiguous.</param>
        /// <exception cref="ArgumentException">A destination of the wrong dtype or size.</exception>
        public static void Quantize(Tensor values, bool signed, int blockSize, Tensor codes, Tensor absmax)
        {
            ArgumentNullException.ThrowIfNull(values);
            ArgumentNullException.ThrowIfNull(codes);
            ArgumentNullException.ThrowIfNull(absmax);
            long n = values.numel();
            long blocks = BlockCount(n, blockSize);
            if (codes.dtype != ScalarType.Byte || codes.numel() != n)
                throw new ArgumentException($"The codes must be uint8 with {n} elements, got {codes.dtype} with {codes.numel()}.", nameof(codes));
            if (absmax.dtype != ScalarType.Float32 || absmax.numel() != blocks)
                throw new ArgumentException($"The absmax must be float32 with {blocks} elements, got {absmax.dtype} with {absmax.numel()}.", nameof(absmax));
            if (n == 0)
                return;

            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var padded = PadToBlocks(values.reshape(-1).to(ScalarType.Float32), blockSize, blocks);
            var max = padded.abs().amax(new long[] { 1 });
            // An all-zero block divides by 1 instead of 0: its codes are then those of 0.
            var safe = max.masked_fill(max.eq(0), 1);
            var normalized = padded.div(safe.unsqueeze(1)).reshape(-1).narrow(0, 0, n);
            var table = tensor(signed ? SignedCode : UnsignedCode, device: values.device);
            codes.reshape(-1).copy_(Nearest(table, normalized));
            absmax.reshape(-1).copy_(max);
        }

        /// <summary>Rebuilds float32 values (shape of <paramref name="codes"/>) from codes and block maxima; the caller owns the result.</summary>
        /// <param name="codes">uint8 code indices.</param>
        /// <param name="absmax">float32 block maxima, <see cref="BlockCount"/> of them.</param>
        /// <param name="signed">Which code the values were stored with.</param>
        /// <param name="blockSize">Elements per absmax.</param>
        /// <exception cref="ArgumentException">Codes or absmax of the wrong dtype or size.</exception>
        public static Tensor Dequantize(Tensor codes, Tensor absmax, bool signed, int blockSize)
        {
            ArgumentNullException.ThrowIfNull(codes);
            ArgumentNullException.ThrowIfNull(absmax);
            long n = codes.numel();
            long blocks = BlockCount(n, blockSize);
            if (codes.dtype != ScalarType.Byte)
                throw new ArgumentException($"The codes must be uint8, got {codes.dtype}.", nameof(codes));
            if (absmax.dtype != ScalarType.Float32 || absmax.numel() != blocks)
                throw new ArgumentException($"The absmax must be float32 with {blocks} elements, got {absmax.dtype} with {absmax.numel()}.", nameof(absmax));

            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var table = tensor(signed ? SignedCode : UnsignedCode, device: codes.device);
            var normalized = table.index_select(0, codes.reshape(-1).to(ScalarType.Int64));
            var padded = PadToBlocks(normalized, blockSize, blocks);
            var values = padded.mul(absmax.reshape(-1, 1)).reshape(-1).narrow(0, 0, n).reshape(codes.shape);
            return scope.MoveToOuter(values);
        }

        /// <summary>The index of the nearest code value for every element (ties go to the smaller value).</summary>
        private static Tensor Nearest(Tensor table, Tensor normalized)
        {
            var upper = searchsorted(table, normalized).clamp(1, table.numel() - 1);
            var lower = upper - 1;
            var below = normalized - table.index_select(0, lower);
            var above = table.index_select(0, upper) - normalized;
            return where(below.le(above), lower, upper).to(ScalarType.Byte);
        }

        /// <summary>[n] → [blocks, blockSize], zero-padding the last block.</summary>
        private static Tensor PadToBlocks(Tensor flat, int blockSize, long blocks)
        {
            long missing = blocks * blockSize - flat.numel();
            if (missing > 0)
                flat = cat(new[] { flat, zeros(missing, flat.dtype, flat.device) });
            return flat.view(blocks, blockSize);
        }

        // Paper §2.2: sign bit (signed code only), e zero bits (exponent 10^-e), an indicator bit, then linear fraction bits.
        private static float[] BuildDynamicCode(bool signed)
        {
            int magnitudeBits = signed ? 7 : 8;
            var values = new List<float> { 0f, 1f };
            for (int exponent = 0; exponent < ExponentLevels; exponent++)
            {
                int fractionBits = magnitudeBits - 1 - exponent;
                int count = 1 << fractionBits;
                double scale = Math.Pow(10, -exponent);
                for (int i = 0; i < count; i++)
                {
                    // Midpoint of the i-th of `count` equal bins of [0.1, 1].
                    double fraction = 0.1 + 0.9 * (i + 0.5) / count;
                    values.Add((float)(scale * fraction));
                    if (signed)
                        values.Add((float)(-scale * fraction));
                }
            }

            values.Sort();
            if (values.Count != 256)
                throw new InvalidOperationException($"The dynamic code must have 256 values, built {values.Count}.");
            return values.ToArray();
        }
    }
}
