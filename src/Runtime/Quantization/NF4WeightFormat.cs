using System.Collections.Generic;
using static TorchSharp.torch;

namespace ModelGen.Quantization
{
    /// <summary>
    /// NF4 (QLoRA, Dettmers et al. 2023, §3): the row-major weight is cut into blocks of <see cref="WeightFormat.GroupSize"/>
    /// elements; each element is divided by its block's absmax and stored as the code of the nearest <see cref="NormalFloat4"/>
    /// value, two codes per byte, high nibble first (bitsandbytes' order). The absmax is fp32, or with double quantization
    /// (§3 "Double Quantization") the absmax values minus their mean are quantized again to 8 bits in blocks of 256 with one fp32
    /// scale each, plus the fp32 mean. That second level is linear int8 (symmetric, code + 128 in a byte) where the paper uses
    /// 8-bit floats: the centred absmax values span a narrow range, where a linear grid has the smaller worst-case error,
    /// and the bytes are the same. Codes are chosen against the absmax as stored, so the error bound uses what is stored.
    /// </summary>
    internal sealed class NF4WeightFormat : WeightFormat
    {
        private readonly BufferSpec[] _buffers;
        private readonly long _blocks;

        public NF4WeightFormat(long inFeatures, long outFeatures, int blockSize, bool doubleQuant) : base(inFeatures, outFeatures, blockSize)
        {
            DoubleQuant = doubleQuant;
            long n = inFeatures * outFeatures;
            _blocks = n / blockSize;
            long secondLevel = (_blocks + QuantLayout.DoubleQuantBlockSize - 1) / QuantLayout.DoubleQuantBlockSize;
            _buffers = doubleQuant
                ? new[]
                {
                    new BufferSpec("weight", new[] { n / 2 }, ScalarType.Byte),
                    new BufferSpec("weight_absmax_q", new[] { _blocks }, ScalarType.Byte),
                    new BufferSpec("weight_absmax_scale", new[] { secondLevel }, ScalarType.Float32),
                    new BufferSpec("weight_absmax_offset", System.Array.Empty<long>(), ScalarType.Float32),
                }
                : new[]
                {
                    new BufferSpec("weight", new[] { n / 2 }, ScalarType.Byte),
                    new BufferSpec("weight_absmax", new[] { _blocks }, ScalarType.Float32),
                };
        }

        public bool DoubleQuant { get; }

        public override IReadOnlyList<BufferSpec> Buffers => _buffers;

        public override Tensor[] Quantize(Tensor weight)
        {
            using var scope = NewDisposeScope();
            var blocks = weight.reshape(_blocks, GroupSize);
            var absmax = blocks.abs().amax(new long[] { 1 });
            Tensor[] absmaxBuffers;
            Tensor storedAbsmax;
            if (DoubleQuant)
            {
                var (q, scale, offset) = QuantizeAbsmax(absmax);
                absmaxBuffers = new[] { q, scale, offset };
                storedAbsmax = DequantizeAbsmax(q, scale, offset);
            }
            else
            {
                absmaxBuffers = new[] { absmax };
                storedAbsmax = absmax;
            }

            // An all-zero block (absmax 0) encodes as code 7 (= 0.0) whatever divisor is used; 1 avoids 0/0.
            var divisor = where(storedAbsmax > 0, storedAbsmax, ones_like(storedAbsmax)).unsqueeze(1);
            var codes = NormalFloat4.Encode(blocks / divisor).view(-1);
            var result = new Tensor[1 + absmaxBuffers.Length];
            result[0] = NibblePacking.Pack(codes, NibbleOrder.HighFirst).MoveToOuterDisposeScope();
            for (int i = 0; i < absmaxBuffers.Length; i++)
                result[i + 1] = absmaxBuffers[i].MoveToOuterDisposeScope();
            return result;
        }

        /// <summary>Double quantization is undone once for the whole weight (its absmax values are 1/blockSize of the elements).</summary>
        public override (WeightFormat Format, IReadOnlyList<Tensor> Buffers, long RowAlignment) PrepareRowTiles(IReadOnlyList<Tensor> buffers)
        {
            // A tile must hold whole blocks: rows·in must be a multiple of the block size.
            long align = GroupSize / Gcd(InFeatures, GroupSize);
            if (!DoubleQuant)
                return (this, buffers, align);
            var absmax = DequantizeAbsmax(buffers[1], buffers[2], buffers[3]);
            return (new NF4WeightFormat(InFeatures, OutFeatures, GroupSize, doubleQuant: false), new[] { buffers[0], absmax }, align);
        }

        public override (WeightFormat Format, Tensor[] Buffers) SliceRows(IReadOnlyList<Tensor> buffers, long start, long count)
        {
            // Only called on a format without double quantization (see PrepareRowTiles), with block-aligned rows.
            long first = start * InFeatures, length = count * InFeatures;
            return (new NF4WeightFormat(InFeatures, count, GroupSize, doubleQuant: false),
                new[] { buffers[0].narrow(0, first / 2, length / 2), buffers[1].narrow(0, first / GroupSize, length / GroupSize) });
        }

        public override Tensor Dequantize(IReadOnlyList<Tensor> buffers, ScalarType dtype)
        {
            using var absmax = DoubleQuant ? DequantizeAbsmax(buffers[1], buffers[2], buffers[3]) : buffers[1].alias();
            using var absmaxCol = absmax.to(dtype).unsqueeze(1);
            var w = NibblePacking.Decode(buffers[0], NormalFloat4.Values, NibbleOrder.HighFirst, dtype);
            using var blocks = w.view(_blocks, GroupSize);
            blocks.mul_(absmaxCol);
            return w.view(OutFeatures, InFeatures);
        }

        private static long Gcd(long a, long b) => b == 0 ? a : Gcd(b, a % b);

        /// <summary>Second-level quantization of the absmax values: (codes uint8, scale fp32 per 256, offset fp32 scalar).</summary>
        private (Tensor Codes, Tensor Scale, Tensor Offset) QuantizeAbsmax(Tensor absmax)
        {
            using var scope = NewDisposeScope();
            var offset = absmax.mean();
            var centred = absmax - offset;
            long size = QuantLayout.DoubleQuantBlockSize;
            long padded = (_blocks + size - 1) / size * size;
            var grouped = nn.functional.pad(centred, new long[] { 0, padded - _blocks }).view(-1, size);
            var range = grouped.abs().amax(new long[] { 1 });
            var scale = where(range > 0, range / 127.0, ones_like(range));
            var codes = (grouped / scale.unsqueeze(1)).round_().clamp_(-127, 127).add_(128)
                .view(-1).narrow(0, 0, _blocks).to(ScalarType.Byte);
            return (codes.MoveToOuterDisposeScope(), scale.MoveToOuterDisposeScope(), offset.MoveToOuterDisposeScope());
        }

        /// <summary>absmax ≈ (code - 128)·scale[block / 256] + offset, in fp32.</summary>
        private Tensor DequantizeAbsmax(Tensor codes, Tensor scale, Tensor offset)
        {
            using var scope = NewDisposeScope();
            var perBlock = scale.repeat_interleave(QuantLayout.DoubleQuantBlockSize).narrow(0, 0, _blocks);
            var absmax = (codes.to(ScalarType.Float32) - 128).mul_(perBlock).add_(offset);
            return absmax.MoveToOuterDisposeScope();
        }
    }
}
