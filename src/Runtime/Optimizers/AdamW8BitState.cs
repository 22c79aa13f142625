using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace ModelGen.Optimizers
{
    /// <summary>
    /// The two Adam moments of one parameter: block-wise 8-bit (codes + fp32 absmax per block, per moment) or, for a small tensor,
    /// two fp32 tensors. Reads and writes whole blocks, so a chunk must start on a block boundary.
    /// </summary>
    internal sealed class MomentState : IDisposable
    {
        private readonly Tensor _first;
        private readonly Tensor _second;
        private readonly Tensor? _firstAbsmax;
        private readonly Tensor? _secondAbsmax;
        private readonly int _blockSize;

        public MomentState(long elements, bool quantized, int blockSize, Device device)
        {
            Quantized = quantized;
            _blockSize = blockSize;
            if (quantized)
            {
                long blocks = BlockwiseQuantization.BlockCount(elements, blockSize);
                // Code 0 of either table is not the value 0, so zero moments are written through Quantize.
                _first = empty(elements, ScalarType.Byte, device);
                _second = empty(elements, ScalarType.Byte, device);
                _firstAbsmax = empty(blocks, ScalarType.Float32, device);
                _secondAbsmax = empty(blocks, ScalarType.Float32, device);
                using var zero = zeros(elements, ScalarType.Float32, device);
                BlockwiseQuantization.Quantize(zero, signed: true, blockSize, _first, _firstAbsmax);
                BlockwiseQuantization.Quantize(zero, signed: false, blockSize, _second, _secondAbsmax);
            }
            else
            {
                _first = zeros(elements, ScalarType.Float32, device);
                _second = zeros(elements, ScalarType.Float32, device);
            }
        }

        public bool Quantized { get; }

        public long Bytes => Size(_first) + Size(_second) + Size(_firstAbsmax) + Size(_secondAbsmax);

        /// <summary>fp32 copies of both moments over [start, start + length).</summary>
        public (Tensor First, Tensor Second) Read(long start, long length)
        {
            if (!Quantized)
                return (_first.narrow(0, start, length).clone(), _second.narrow(0, start, length).clone());
            var (blockStart, blocks) = Blocks(start, length);
            var m = BlockwiseQuantization.Dequantize(_first.narrow(0, start, length), _firstAbsmax!.narrow(0, blockStart, blocks), signed: true, _blockSize);
            var v = BlockwiseQuantization.Dequantize(_second.narrow(0, start, length), _secondAbsmax!.narrow(0, blockStart, blocks), signed: false, _blockSize);
            return (m, v);
        }

        /// <summary>Stores both moments over [start, start + first.numel()).</summary>
        public void Write(long start, Tensor first, Tensor second)
        {
            long length = first.numel();
            if (!Quantized)
            {
                _first.narrow(0, start, length).copy_(first);
                _second.narrow(0, start, length).copy_(second);
                return;
            }

            var (blockStart, blocks) = Blocks(start, length);
            // narrow of a 1-D contiguous tensor is a contiguous view, so Quantize writes straight into the state.
            BlockwiseQuantization.Quantize(first, signed: true, _blockSize, _first.narrow(0, start, length), _firstAbsmax!.narrow(0, blockStart, blocks));
            BlockwiseQuantization.Quantize(second, signed: false, _blockSize, _second.narrow(0, start, length), _secondAbsmax!.narrow(0, blockStart, blocks));
        }

        /// <summary>The stored tensors under bitsandbytes' state names.</summary>
        public IEnumerable<(string Name, Tensor Tensor)> Named()
        {
            yield return ("state1", _first);
            if (_firstAbsmax is not null)
                yield return ("absmax1", _firstAbsmax);
            yield return ("state2", _second);
            if (_secondAbsmax is not null)
                yield return ("absmax2", _secondAbsmax);
        }

        public void Dispose()
        {
            _first.Dispose();
            _second.Dispose();
            _firstAbsmax?.Dispose();
            _secondAbsmax?.Dispose();
        }

        private (long Start, long Count) Blocks(long start, long length)
        {
            if (start % _blockSize != 0)
                throw new InvalidOperationException($"A moment chunk must start on a block boundary ({_blockSize}), got {start}.");
            return (start / _blockSize, BlockwiseQuantization.BlockCount(length, _blockSize));
        }

        private static long Size(Tensor? t) => t is null ? 0 : t.numel() * t.ElementSize;
    }
}
