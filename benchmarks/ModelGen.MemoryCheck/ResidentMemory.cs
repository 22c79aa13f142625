using System;
using System.Globalization;
using System.IO;

namespace ModelGen.MemoryCheck;

/// <summary>
/// The process's resident set, read from Linux's <c>/proc/self/status</c>. The high-water mark (VmHWM) can be reset to the
/// current resident size by writing 5 to <c>/proc/self/clear_refs</c> (Linux 4.0+), which is what makes a measurement
/// "above a baseline" possible in-process.
/// </summary>
internal static class ResidentMemory
{
    /// <summary>Current resident set in bytes.</summary>
    public static long Current => Read("VmRSS:");

    /// <summary>Largest resident set since the last <see cref="ResetPeak"/>, in bytes.</summary>
    public static long Peak => Read("VmHWM:");

    /// <summary>Sets the high-water mark to the current resident set.</summary>
    public static void ResetPeak() => File.WriteAllText("/proc/self/clear_refs", "5");

    private static long Read(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith(key, StringComparison.Ordinal))
                continue;
            var kilobytes = line.Substring(key.Length).Trim().Split(' ')[0];
            return long.Parse(kilobytes, CultureInfo.InvariantCulture) * 1024;
        }
        throw new InvalidOperationException($"/proc/self/status has no {key} line: this measurement needs Linux.");
    }
}
