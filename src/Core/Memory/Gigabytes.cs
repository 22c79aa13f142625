using System;
using System.Globalization;

namespace ModelGen.Memory
{
    /// <summary>
    /// The unit of every message: 1 GB = 2^30 bytes, what nvidia-smi and torch print as GiB.
    /// Budgets in attributes are in this unit too.
    /// </summary>
    public static class Gigabytes
    {
        /// <summary>Bytes in one GB (2^30).</summary>
        public const long Bytes = 1L << 30;

        /// <summary>Bytes in one MB (2^20), used by the device constants.</summary>
        public const long MegabyteBytes = 1L << 20;

        /// <summary><paramref name="bytes"/> in GB.</summary>
        public static double FromBytes(long bytes) => bytes / (double)Bytes;

        /// <summary>A budget of <paramref name="gigabytes"/> GB in bytes, rounded down to a whole byte.</summary>
        /// <exception cref="ArgumentOutOfRangeException">The value is negative, not a number, or too large for a long.</exception>
        public static long ToBytes(double gigabytes)
        {
            if (double.IsNaN(gigabytes) || gigabytes < 0 || gigabytes * Bytes >= long.MaxValue)
                throw new ArgumentOutOfRangeException(nameof(gigabytes), gigabytes, "A memory size in GB must be a non-negative number below 8 billion GB.");
            return (long)Math.Floor(gigabytes * Bytes);
        }

        /// <summary>Formats <paramref name="bytes"/> as GB with one decimal, e.g. <c>41.3 GB</c> (invariant culture).</summary>
        public static string Format(long bytes) => FromBytes(bytes).ToString("0.0", CultureInfo.InvariantCulture) + " GB";
    }
}
