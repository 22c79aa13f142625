using System;

namespace ModelGen.Optimizers
{
    /// <summary>
    /// The partition of the parameters' elements over data-parallel ranks. All parameters, flattened and laid end to end, form one
    /// buffer of <c>N</c> elements; rank <c>r</c> owns the contiguous range <c>[r·⌈N/d⌉, (r+1)·⌈N/d⌉)</c> (ZeRO, Rajbhandari et al.
    /// 2020, §5.1: each rank updates 1/Nd of the parameters). A parameter can be split between neighbouring ranks, so the
    /// partition is exact to the element and no rank holds more than ⌈N/d⌉ elements of state.
    /// </summary>
    public sealed class ShardLayout
    {
        private readonly long[] _starts;

        /// <summary>Lays out parameters with <paramref name="elementCounts"/> elements over <paramref name="ranks"/> ranks.</summary>
        /// <exception cref="ArgumentException">No ranks, or a negative count.</exception>
        public ShardLayout(long[] elementCounts, int ranks)
        {
            ArgumentNullException.ThrowIfNull(elementCounts);
            if (ranks < 1)
                throw new ArgumentOutOfRangeException(nameof(ranks), ranks, "A layout needs at least one rank.");
            _starts = new long[elementCounts.Length + 1];
            for (var i = 0; i < elementCounts.Length; i++) {
                if (elementCounts[i] < 0)
                    throw new ArgumentException($"Parameter {i} has a negative element count.", nameof(elementCounts));
                _starts[i + 1] = checked(_starts[i] + elementCounts[i]);
            }
            Ranks = ranks;
            TotalElements = _starts[^1];
            PartitionSize = (TotalElements + ranks - 1) / ranks;
        }

        /// <summary>The number of ranks.</summary>
        public int Ranks { get; }

        /// <summary>Elements of all parameters together.</summary>
        public long TotalElements { get; }

        /// <summary>The most elements one rank owns, ⌈N/d⌉.</summary>
        public long PartitionSize { get; }

        /// <summary>The range of parameter <paramref name="parameter"/>'s flattened elements that <paramref name="rank"/> owns (length 0: none).</summary>
        public (long Offset, long Length) Owned(int parameter, int rank)
        {
            var begin = Math.Max(_starts[parameter], rank * PartitionSize);
            var end = Math.Min(_starts[parameter + 1], (rank + 1) * PartitionSize);
            return end > begin ? (begin - _starts[parameter], end - begin) : (0, 0);
        }

        /// <summary>How many of parameter <paramref name="parameter"/>'s elements each rank owns, in rank order (they add up to its size).</summary>
        public long[] Counts(int parameter)
        {
            var counts = new long[Ranks];
            for (var r = 0; r < Ranks; r++)
                counts[r] = Owned(parameter, r).Length;
            return counts;
        }
    }
}
