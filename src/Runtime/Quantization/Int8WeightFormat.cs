using System.Collections.Generic;
using static TorchSharp.torch;

namespace ModelGen.Quantization
{
    /// <summary>
    /// Symmetric int8 with one fp32 scale per output channel: scale = absmax(row)/127, q = round(w/scale) in [-127, 127]
    /// (LLM.int8(), Dettmers et al. 2022, §2 "absmax quantization", applied per row; no outlier decomposition).
    /// The scale stays fp32 whatever the compute dtype, so the stored bytes do not depend on it.
    /// </summary>
    internal sealed class Int8WeightFormat : WeightFormat
    {
        private readonly BufferSpec[] _buffers;

        public Int8WeightFormat(long inFeatures, long outFeatures) : base(inFeatures, outFeatures, checked((int)inFeatures))
        {
            _buffers = new[]
            {
                new BufferSpec("weight", new[] { outFeatures, inFeatures }, ScalarType.Int8),
                new BufferSpec("weight_scale", new[] { outFeatures }, ScalarType.Float32),
            };
        }

        public override IReadOnlyList<BufferSpec> Buffers => _buffers;

        public override Tensor[] Quantize(Tensor weight)
        {
            using var scope = NewDisposeScope();
            var absmax = weight.abs().amax(new long[] { 1 });
            // An all-zero row has no scale to find; any positive scale reproduces it exactly.
            var scale = where(absmax > 0, absmax / 127.0, ones_like(absmax));
            var q = (weight / scale.unsqueeze(1)).round_().clamp_(-127, 127).to(ScalarType.Int8);
            return new[] { q.MoveToOuterDisposeScope(), scale.MoveToOuterDisposeScope() };
        }

        public override (WeightFormat Format, Tensor[] Buffers) SliceRows(IReadOnlyList<Tensor> buffers, long start, long count) =>
            (new Int8WeightFormat(InFeatures, count), new[] { buffers[0].narrow(0, start, count), buffers[1].narrow(0, start, count) });

        public override Tensor Dequantize(IReadOnlyList<Tensor> buffers, ScalarType dtype)
        {
            var w = buffers[0].to(dtype);
            using var scale = buffers[1].to(dtype).unsqueeze(1);
            return w.mul_(scale);
        }
    }
}
