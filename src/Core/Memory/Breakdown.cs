using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// Prints a peak as GB (2^30 bytes) with one decimal so that the printed parts add up to the printed total.
    /// Rounding each part on its own can miss the total by a few tenths; instead the total is rounded to tenths and the
    /// tenths are shared out by the largest-remainder method (Hamilton's apportionment): every part is floored, and the
    /// tenths still missing go to the parts with the largest remainders. Each printed part is then within 0.1 GB of its
    /// true value, and the parts sum exactly to the printed total.
    /// </summary>
    public static class Breakdown
    {
        private const double BytesPerTenth = 1024.0 * 1024 * 1024 / 10;

        /// <summary>
        /// Formats the non-zero <paramref name="parts"/>, and those named in <paramref name="alwaysShown"/> even when zero:
        /// the total and <c>weights 1.2 GB, gradients 0.6 GB, …</c> (in the given order).
        /// </summary>
        public static (string Total, string Parts) Format(IReadOnlyList<(string Name, long Bytes)> parts, ICollection<string>? alwaysShown = null)
        {
            var shown = parts.Where(p => p.Bytes > 0 || (alwaysShown?.Contains(p.Name) ?? false)).ToList();
            var totalTenths = (long)Math.Round(shown.Sum(p => (double)p.Bytes) / BytesPerTenth, MidpointRounding.AwayFromZero);
            var exact = shown.Select(p => p.Bytes / BytesPerTenth).ToArray();
            var tenths = exact.Select(e => (long)Math.Floor(e)).ToArray();
            var missing = totalTenths - tenths.Sum();
            // Ties go to the earlier part, so the result does not depend on sort stability.
            foreach (var index in Enumerable.Range(0, exact.Length).OrderByDescending(i => exact[i] - tenths[i]).ThenBy(i => i).Take((int)Math.Max(0, missing)))
                tenths[index]++;
            var text = string.Join(", ", shown.Select((p, i) => $"{p.Name} {Tenths(tenths[i])} GB"));
            return (Tenths(totalTenths), text);
        }

        /// <summary>
        /// The breakdown of <paramref name="estimate"/> as MG0001 prints it: every non-zero term, and always weights, gradients,
        /// optimizer and activations for training (weights and activations for inference), so a zero says the term is not held
        /// at the peak.
        /// </summary>
        public static (string Total, string Parts) Format(MemoryEstimate estimate, ScenarioSpec scenario)
        {
            var alwaysShown = scenario.Workload == Workload.Training
                ? new[] { MemoryTerms.Weights, MemoryTerms.Gradients, MemoryTerms.Optimizer, MemoryTerms.Activations }
                : new[] { MemoryTerms.Weights, MemoryTerms.Activations };
            return Format(estimate.Terms.Select(t => (t.Name, t.Bytes)).ToList(), alwaysShown);
        }

        /// <summary>Bytes as GB with one decimal, rounded half away from zero: <c>24.0</c>.</summary>
        public static string Gigabytes(long bytes) => Tenths((long)Math.Round(bytes / BytesPerTenth, MidpointRounding.AwayFromZero));

        /// <summary>A budget in GB as the user wrote it: <c>24</c>, <c>79.6</c>.</summary>
        public static string Budget(double gigabytes) => gigabytes.ToString("0.#", CultureInfo.InvariantCulture);

        private static string Tenths(long tenths) => (tenths / 10.0).ToString("0.0", CultureInfo.InvariantCulture);
    }
}
