using System;
using System.Globalization;
using System.Linq;
using ModelGen.Memory;

namespace ModelGen.MemoryCheck;

/// <summary>What every training check does: measure a peak above a warmed-up baseline, and print one docs/memory-check.md row.</summary>
internal static class CheckRow
{
    private const double MiB = 1 << 20;

    /// <summary>
    /// Peak resident bytes above the baseline while <paramref name="measure"/> runs. <paramref name="warmUp"/> runs first on a
    /// throwaway instance, so libtorch's process-wide buffers join the baseline, and the collector runs before the baseline is read;
    /// <paramref name="settle"/> (e.g. a barrier, so no rank's warm-up still runs) right before it.
    /// </summary>
    public static long PeakAbove(Action warmUp, Action measure, Action? settle = null)
    {
        warmUp();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        settle?.Invoke();
        var baseline = ResidentMemory.Current;
        ResidentMemory.ResetPeak();
        measure();
        return ResidentMemory.Peak - baseline;
    }

    /// <summary>
    /// <c>| label | predicted | measured | measured / predicted | peak phase | terms |</c>, in MiB with <paramref name="decimals"/> places;
    /// <paramref name="note"/> follows the terms.
    /// </summary>
    public static string Format(string label, MemoryEstimate estimate, long measured, int decimals = 1, string note = "")
    {
        var f = "F" + decimals.ToString(CultureInfo.InvariantCulture);
        string MiBs(double bytes) => (bytes / MiB).ToString(f, CultureInfo.InvariantCulture);
        var terms = string.Join(", ", estimate.Terms.Where(t => t.Bytes > 0).Select(t => $"{t.Name} {MiBs(t.Bytes)}"));
        var ratio = ((double)measured / estimate.PeakBytes).ToString("F3", CultureInfo.InvariantCulture);
        return $"| {label} | {MiBs(estimate.PeakBytes)} | {MiBs(measured)} | {ratio} | {estimate.PeakPhase} | {terms}{note} |";
    }

    /// <summary>One trace line: the resident set above <paramref name="origin"/> and the peak since the last line, which it resets.</summary>
    public static void Trace(string what, long origin)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {what,-24} rss {(ResidentMemory.Current - origin) / MiB,8:F1}  peak {(ResidentMemory.Peak - origin) / MiB,8:F1} MiB"));
        ResidentMemory.ResetPeak();
    }
}
