using System;
using static TorchSharp.torch;

namespace ModelGen.Loading
{
    /// <summary>Reads and writes the raw bytes of a contiguous CPU tensor in place, in chunks a <see cref="Span{T}"/> can address.</summary>
    internal static class TensorBytes
    {
        // A Span is indexed by int; 1 GiB chunks stay well inside that for every element size.
        private const long ChunkBytes = 1L << 30;

        /// <summary>A delegate that fills <paramref name="destination"/> with the source's bytes starting at <paramref name="offset"/>.</summary>
        public delegate void Fill(long offset, Span<byte> destination);

        /// <summary>Fills a new contiguous CPU tensor's memory from a source, chunk by chunk; no managed copy of the data.</summary>
        public static void CopyFrom(Tensor destination, Fill fill)
        {
            long elementSize = destination.ElementSize;
            long total = destination.numel();
            long perChunk = Math.Max(1, ChunkBytes / elementSize);
            using var flat = destination.view(-1);
            for (long start = 0; start < total; start += perChunk)
            {
                long count = Math.Min(perChunk, total - start);
                using var chunk = flat.narrow(0, start, count);
                // Tensor.bytes is a span over the tensor's own storage (from its data pointer) for a contiguous CPU tensor.
                fill(start * elementSize, chunk.bytes);
            }
        }

        /// <summary>
        /// Fills a contiguous CPU tensor from a source holding the same elements as <paramref name="storedDType"/>: directly when
        /// the dtypes match, else through one small temporary (at most <paramref name="chunkBytes"/>) converted chunk by chunk, so
        /// a dtype conversion never holds a full-size copy of the tensor.
        /// </summary>
        public static void CopyConverting(Tensor destination, ScalarType storedDType, long chunkBytes, Fill fill)
        {
            if (destination.dtype == storedDType)
            {
                CopyFrom(destination, fill);
                return;
            }

            long storedSize = DTypeNames.ElementSize(storedDType);
            long total = destination.numel();
            long perChunk = Math.Max(1, Math.Min(total, chunkBytes / storedSize));
            using var temporary = empty(new[] { perChunk }, storedDType);
            using var flat = destination.view(-1);
            for (long start = 0; start < total; start += perChunk)
            {
                long count = Math.Min(perChunk, total - start);
                using var part = temporary.narrow(0, 0, count);
                fill(start * storedSize, part.bytes);
                using var target = flat.narrow(0, start, count);
                target.copy_(part);
            }
        }

        /// <summary>Copies a contiguous CPU tensor's bytes out to a sink, chunk by chunk.</summary>
        public static void CopyTo(Tensor source, Action<ReadOnlySpan<byte>> sink)
        {
            long elementSize = source.ElementSize;
            long total = source.numel();
            long perChunk = Math.Max(1, ChunkBytes / elementSize);
            using var flat = source.contiguous().view(-1);
            for (long start = 0; start < total; start += perChunk)
            {
                long count = Math.Min(perChunk, total - start);
                using var chunk = flat.narrow(0, start, count);
                sink(chunk.bytes);
            }
        }
    }
}
