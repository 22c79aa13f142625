using System;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// The largest sequence length or batch that still fits a budget. Peak memory never decreases when either grows, so an
    /// exponential search followed by a binary search finds the exact largest value in O(log n) estimates.
    /// </summary>
    public static class Fit
    {
        /// <summary>The search stops here: a model that fits at 2^22 tokens per sequence is reported as fitting 2^22.</summary>
        public const long MaxSearchedSequenceLength = 1L << 22;

        /// <summary>The search stops here: a model that fits 2^20 sequences per step is reported as fitting 2^20.</summary>
        public const long MaxSearchedBatch = 1L << 20;

        /// <summary>
        /// The largest sequence length for which <paramref name="scenario"/> fits <paramref name="budgetBytes"/>, at most the rows of the
        /// model's learned position table (<see cref="PositionCap"/>); 0 when even 1 does not.
        /// </summary>
        /// <exception cref="ArgumentException">The scenario or the model is invalid (see <see cref="MemoryModel.Estimate"/>).</exception>
        public static long MaxSequenceLength(ModelSpec model, ScenarioSpec scenario, long budgetBytes, DeviceProfile? device = null) =>
            MaxSequenceLengthUsing(model, scenario, budgetBytes, (m, s) => MemoryModel.Estimate(m, s, device));

        /// <summary>
        /// <see cref="MaxSequenceLength(ModelSpec, ScenarioSpec, long, DeviceProfile?)"/>, estimating with <paramref name="estimate"/>
        /// (the memory model on one device, possibly remembering estimates the caller already made).
        /// </summary>
        /// <exception cref="ArgumentException">The scenario or the model is invalid (see <see cref="MemoryModel.Estimate"/>).</exception>
        public static long MaxSequenceLengthUsing(ModelSpec model, ScenarioSpec scenario, long budgetBytes, Func<ModelSpec, ScenarioSpec, MemoryEstimate> estimate)
        {
            if (scenario is null)
                throw new ArgumentNullException(nameof(scenario));
            if (estimate is null)
                throw new ArgumentNullException(nameof(estimate));
            // A learned position table caps the sequence length: "fits up to" never goes past it.
            var limit = PositionCap.Find(model) is { } cap ? System.Math.Min(cap.Positions, MaxSearchedSequenceLength) : MaxSearchedSequenceLength;
            return Largest(value => estimate(model, scenario with { SequenceLength = value }).PeakBytes <= budgetBytes, limit);
        }

        /// <summary>The largest batch for which <paramref name="scenario"/> fits <paramref name="budgetBytes"/>; 0 when even 1 does not.</summary>
        /// <exception cref="ArgumentException">The scenario or the model is invalid (see <see cref="MemoryModel.Estimate"/>).</exception>
        public static long MaxBatch(ModelSpec model, ScenarioSpec scenario, long budgetBytes, DeviceProfile? device = null) =>
            MaxBatchUsing(model, scenario, budgetBytes, (m, s) => MemoryModel.Estimate(m, s, device));

        /// <summary>
        /// <see cref="MaxBatch(ModelSpec, ScenarioSpec, long, DeviceProfile?)"/>, estimating with <paramref name="estimate"/>
        /// (the memory model on one device, possibly remembering estimates the caller already made).
        /// </summary>
        /// <exception cref="ArgumentException">The scenario or the model is invalid (see <see cref="MemoryModel.Estimate"/>).</exception>
        public static long MaxBatchUsing(ModelSpec model, ScenarioSpec scenario, long budgetBytes, Func<ModelSpec, ScenarioSpec, MemoryEstimate> estimate)
        {
            if (scenario is null)
                throw new ArgumentNullException(nameof(scenario));
            if (estimate is null)
                throw new ArgumentNullException(nameof(estimate));
            return Largest(value => estimate(model, scenario with { Batch = value }).PeakBytes <= budgetBytes, MaxSearchedBatch);
        }

        private static long Largest(Func<long, bool> fits, long limit)
        {
            if (!fits(1))
                return 0;
            long low = 1, high = 2;
            while (high <= limit && fits(high))
            {
                low = high;
                high *= 2;
            }
            if (high > limit)
                return low == limit || !fits(limit) ? Search(fits, low, limit) : limit;
            return Search(fits, low, high);
        }

        /// <summary>Largest value in [<paramref name="low"/>, <paramref name="high"/>) that fits, given that <paramref name="low"/> fits.</summary>
        private static long Search(Func<long, bool> fits, long low, long high)
        {
            while (high - low > 1)
            {
                var middle = low + ((high - low) / 2);
                if (fits(middle))
                    low = middle;
                else
                    high = middle;
            }
            return low;
        }
    }
}
