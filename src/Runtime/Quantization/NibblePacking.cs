using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace ModelGen.Quantization
{
    /// <summary>Which of two neighbouring 4-bit codes goes into the low half of their byte.</summary>
    public enum NibbleOrder
    {
        /// <summary>Element 2k in bits 0–3, element 2k+1 in bits 4–7 (common int4 layouts; ModelGen's Int4).</summary>
        LowFirst = 0,
        /// <summary>Element 2k in bits 4–7, element 2k+1 in bits 0–3 (bitsandbytes' NF4 layout; ModelGen's NF4).</summary>
        HighFirst = 1,
    }

    /// <summary>Packs 4-bit codes two to a byte along the last dimension, and back.</summary>
    public static class NibblePacking
    {
        /// <summary>
        /// Packs uint8 codes in [0, 15] along the last dimension: [..., 2k] becomes [..., k].
        /// </summary>
        /// <exception cref="ArgumentException">Not uint8, a scalar, an odd last dimension, or a code above 15.</exception>
        public static Tensor Pack(Tensor codes, NibbleOrder order)
        {
            ArgumentNullException.ThrowIfNull(codes);
            if (codes.dtype != ScalarType.Byte)
                throw new ArgumentException($"4-bit codes must be uint8, got {codes.dtype}.", nameof(codes));
            if (codes.dim() == 0 || codes.shape[^1] % 2 != 0)
                throw new ArgumentException($"Packing two 4-bit codes per byte needs an even last dimension, got shape [{string.Join(", ", codes.shape)}].", nameof(codes));

            using var scope = NewDisposeScope();
            if (codes.numel() > 0 && codes.max().item<byte>() > 15)
                throw new ArgumentException($"4-bit codes must lie in [0, 15], got a maximum of {codes.max().item<byte>()}.", nameof(codes));

            var pairs = codes.unflatten(codes.dim() - 1, new long[] { -1, 2 });
            var first = pairs.select(-1, 0);
            var second = pairs.select(-1, 1);
            var four = tensor((byte)4, device: codes.device);
            var packed = order == NibbleOrder.LowFirst
                ? first.bitwise_or(second.bitwise_left_shift(four))
                : second.bitwise_or(first.bitwise_left_shift(four));
            return packed.MoveToOuterDisposeScope();
        }

        /// <summary>Unpacks bytes into two uint8 codes each along the last dimension: [..., k] becomes [..., 2k].</summary>
        /// <exception cref="ArgumentException">Not uint8, or a scalar.</exception>
        public static Tensor Unpack(Tensor packed, NibbleOrder order)
        {
            ArgumentNullException.ThrowIfNull(packed);
            if (packed.dtype != ScalarType.Byte)
                throw new ArgumentException($"Packed 4-bit codes must be uint8, got {packed.dtype}.", nameof(packed));
            if (packed.dim() == 0)
                throw new ArgumentException("Packed 4-bit codes need at least one dimension, got a scalar.", nameof(packed));

            // Each temporary is disposed as soon as it is consumed, so unpacking a large weight peaks at about 2.5 bytes per code.
            Tensor low, high;
            using (var mask = tensor((byte)0x0F, device: packed.device))
                low = packed.bitwise_and(mask);
            using (var four = tensor((byte)4, device: packed.device))
                high = packed.bitwise_right_shift(four);
            var shape = (long[])packed.shape.Clone();
            shape[^1] *= 2;
            using (low)
            using (high)
            {
                using var stacked = order == NibbleOrder.LowFirst ? stack(new[] { low, high }, -1) : stack(new[] { high, low }, -1);
                return stacked.view(shape);
            }
        }

        /// <summary>
        /// Unpacks bytes straight into the values their 4-bit codes stand for: [..., k] bytes become [..., 2k] elements of
        /// <paramref name="dtype"/>, element = <paramref name="codeValues"/>[code]. One gather from a 256-entry table of value
        /// pairs (one row per byte) replaces unpacking, widening and a per-element lookup: one pass, and no uint8 or int64
        /// code tensor of the full size (the transient is an int32 copy of the bytes, 2 bytes per element).
        /// </summary>
        /// <exception cref="ArgumentException">Not uint8, a scalar, or not exactly 16 code values.</exception>
        public static Tensor Decode(Tensor packed, IReadOnlyList<float> codeValues, NibbleOrder order, ScalarType dtype)
        {
            ArgumentNullException.ThrowIfNull(packed);
            ArgumentNullException.ThrowIfNull(codeValues);
            if (packed.dtype != ScalarType.Byte)
                throw new ArgumentException($"Packed 4-bit codes must be uint8, got {packed.dtype}.", nameof(packed));
            if (packed.dim() == 0)
                throw new ArgumentException("Packed 4-bit codes need at least one dimension, got a scalar.", nameof(packed));
            if (codeValues.Count != 16)
                throw new ArgumentException($"A 4-bit code has 16 values, got {codeValues.Count}.", nameof(codeValues));

            var pairs = new float[512];
            for (int b = 0; b < 256; b++)
            {
                int low = b & 0x0F, high = b >> 4;
                pairs[2 * b] = codeValues[order == NibbleOrder.LowFirst ? low : high];
                pairs[2 * b + 1] = codeValues[order == NibbleOrder.LowFirst ? high : low];
            }

            var shape = (long[])packed.shape.Clone();
            shape[^1] *= 2;
            using var table32 = tensor(pairs, new long[] { 256, 2 }, device: packed.device);
            using var table = table32.to(dtype);
            // index_select takes int32 indices (half the transient of int64); uint8 indices would be read as a boolean mask.
            using var index = packed.reshape(-1).to(ScalarType.Int32);
            using var values = table.index_select(0, index);
            return values.view(shape);
        }
    }
}
