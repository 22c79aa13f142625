using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
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
            if (parts is null)
                throw new ArgumentNullException(nameof(parts));
            var names = new string[parts.Count];
            var bytes = new long[parts.Count];
            for (var i = 0; i < names.Length; i++)
                (names[i], bytes[i]) = parts[i];
            return Format(names, bytes, alwaysShown);
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
            var names = new string[estimate.Terms.Count];
            var bytes = new long[names.Length];
            for (var i = 0; i < names.Length; i++)
            {
                names[i] = estimate.Terms[i].Name;
                bytes[i] = estimate.Terms[i].Bytes;
            }
            return Format(names, bytes, alwaysShown);
        }

        // Plain loops over arrays, no LINQ: the analyzers call this in the compiler, where LINQ over tuples or over longs and
        // doubles is a generic instantiation compiled just in time in every compiler process (docs/benchmarks-analyzers.md).
        private static (string Total, string Parts) Format(string[] names, long[] bytes, ICollection<string>? alwaysShown)
        {
            var shown = new List<int>(names.Length);
            var sumOfBytes = 0.0;
            for (var i = 0; i < names.Length; i++)
            {
                if (bytes[i] > 0 || (alwaysShown?.Contains(names[i]) ?? false))
                {
                    shown.Add(i);
                    sumOfBytes += bytes[i];
                }
            }
            var totalTenths = (long)Math.Round(sumOfBytes / BytesPerTenth, MidpointRounding.AwayFromZero);
            var exact = new double[shown.Count];
            var tenths = new long[shown.Count];
            var floored = 0L;
            for (var i = 0; i < exact.Length; i++)
            {
                exact[i] = bytes[shown[i]] / BytesPerTenth;
                tenths[i] = (long)Math.Floor(exact[i]);
                floored += tenths[i];
            }
            // The missing tenths go to the largest remainders; ties go to the earlier part, so the result does not depend on sort stability.
            var missing = totalTenths - floored;
            var given = new bool[exact.Length];
            for (var round = 0L; round < Math.Min(missing, exact.Length); round++)
            {
                var best = -1;
                for (var i = 0; i < exact.Length; i++)
                {
                    if (!given[i] && (best < 0 || exact[i] - tenths[i] > exact[best] - tenths[best]))
                        best = i;
                }
                given[best] = true;
            }
            var text = new StringBuilder();
            for (var i = 0; i < exact.Length; i++)
            {
                if (given[i])
                    tenths[i]++;
                if (i > 0)
                    text.Append(", ");
                text.Append(names[shown[i]]).Append(' ').Append(Tenths(tenths[i])).Append(" GB");
            }
            return (Tenths(totalTenths), text.ToString());
        }

        /// <summary>Bytes as GB with one decimal, rounded half away from zero: <c>24.0</c>.</summary>
        public static string Gigabytes(long bytes) => Tenths((long)Math.Round(bytes / BytesPerTenth, MidpointRounding.AwayFromZero));

        /// <summary>A budget in GB as the user wrote it: <c>24</c>, <c>79.6</c>.</summary>
        public static string Budget(double gigabytes) => gigabytes.ToString("0.#", CultureInfo.InvariantCulture);

        private static string Tenths(long tenths) => (tenths / 10.0).ToString("0.0", CultureInfo.InvariantCulture);
    }
}
