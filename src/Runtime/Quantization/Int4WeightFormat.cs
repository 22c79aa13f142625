using System.Collections.Generic;
using static TorchSharp.torch;

namespace ModelGen.Quantization
{
    /// <summary>
    /// Asymmetric int4, one bf16 scale and one bf16 integer zero point per (output row, group of input columns), codes packed
    /// two per byte, low nibble first. As in GPTQ (Frantar et al. 2022, the min/max quantizer of its reference code): the range is
    /// widened to contain 0, scale = (max - min)/15, zero = round(-min/scale) in [0, 15], q = clamp(round(w/scale) + zero, 0, 15),
    /// w ≈ (q - zero)·scale. The zero point is an integer, so bf16 stores it exactly; the scale is rounded up to the next bf16
    /// value, so the 16 levels still span [min, max] and every element is within scale/2 of its level.
    /// </summary>
    internal sealed class Int4WeightFormat : WeightFormat
    {
        private readonly BufferSpec[] _buffers;

        public Int4WeightFormat(long inFeatures, long outFeatures, int groupSize) : base(inFeatures, outFeatures, groupSize)
        {
            long groups = inFeatures / groupSize;
            _buffers = new[]
            {
                new BufferSpec("weight", new[] { outFeatures, inFeatures / 2 }, ScalarType.Byte),
                new BufferSpec("weight_scale", new[] { outFeatures, groups }, ScalarType.BFloat16),
                new BufferSpec("weight_zero", new[] { outFeatures, groups }, ScalarType.BFloat16),
            };
        }

        public override IReadOnlyList<BufferSpec> Buffers => _buffers;

        /// <summary>Code c stands for the integer c before the zero point is subtracted.</summary>
        private static readonly float[] CodeValues = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

        public override Tensor[] Quantize(Tensor weight)
        {
            using var scope = NewDisposeScope();
            var grouped = weight.view(OutFeatures, InFeatures / GroupSize, GroupSize);
            var min = grouped.amin(new long[] { 2 }).clamp_max_(0);
            var max = grouped.amax(new long[] { 2 }).clamp_min_(0);
            var exact = (max - min) / 15.0;
            // An all-zero group has no range; any positive scale reproduces it exactly.
            exact = where(exact > 0, exact, ones_like(exact));
            var scale = RoundUpToBFloat16(exact);
            var scale32 = scale.to(ScalarType.Float32);
            var zero = (-min / scale32).round_().clamp_(0, 15);
            var q = (grouped / scale32.unsqueeze(2)).round_().add_(zero.unsqueeze(2)).clamp_(0, 15)
                .to(ScalarType.Byte).view(OutFeatures, InFeatures);
            var packed = NibblePacking.Pack(q, NibbleOrder.LowFirst);
            return new[]
            {
                packed.MoveToOuterDisposeScope(),
                scale.MoveToOuterDisposeScope(),
                zero.to(ScalarType.BFloat16).MoveToOuterDisposeScope(),
            };
        }

        public override (WeightFormat Format, Tensor[] Buffers) SliceRows(IReadOnlyList<Tensor> buffers, long start, long count) =>
            (new Int4WeightFormat(InFeatures, count, GroupSize),
             new[] { buffers[0].narrow(0, start, count), buffers[1].narrow(0, start, count), buffers[2].narrow(0, start, count) });

        public override Tensor Dequantize(IReadOnlyList<Tensor> buffers, ScalarType dtype)
        {
            var w = NibblePacking.Decode(buffers[0], CodeValues, NibbleOrder.LowFirst, dtype);
            using var zero = buffers[2].to(dtype);
            using var scale = buffers[1].to(dtype);
            using var grouped = w.view(OutFeatures, InFeatures / GroupSize, GroupSize);
            using var zero3 = zero.unsqueeze(2);
            using var scale3 = scale.unsqueeze(2);
            grouped.sub_(zero3).mul_(scale3);
            return w;
        }

        /// <summary>The smallest bf16 value at or above each positive (normal) float32 element.</summary>
        private static Tensor RoundUpToBFloat16(Tensor positive)
        {
            using var scope = NewDisposeScope();
            var nearest = positive.to(ScalarType.BFloat16).to(ScalarType.Float32);
            // For a bf16 value v = m·2^e (m in [1, 2), 7 stored mantissa bits, ulp = 2^(e-7)), v·1.5/256 lies in
            // [0.75, 1.5) ulp, so v·(1 + 1.5/256) rounds to exactly v + ulp, the next bf16 value up; the fp32 product is exact.
            var up = nearest * (1.0 + 1.5 / 256.0);
            var result = where(nearest >= positive, nearest, up);
            return result.to(ScalarType.BFloat16).MoveToOuterDisposeScope();
        }
    }
}
