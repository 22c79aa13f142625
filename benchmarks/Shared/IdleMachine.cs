using System;
using System.Globalization;
using System.IO;

namespace ModelGen.Benchmarking;

/// <summary>
/// The load check every benchmark entry point makes: a timing taken while other work competes for the cores is not a
/// result. Entry points record <see cref="Describe"/> beside each result and write nothing when <see cref="IsIdle"/> is
/// false, before or after the run.
/// </summary>
internal static class IdleMachine
{
    /// <summary>The 1-, 5- and 15-minute load averages from <c>/proc/loadavg</c>, or null where the kernel has none.</summary>
    public static (double One, double Five, double Fifteen)? LoadAverage()
    {
        const string path = "/proc/loadavg";
        if (!File.Exists(path))
            return null;
        var fields = File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        static double Parse(string text) => double.Parse(text, CultureInfo.InvariantCulture);
        return (Parse(fields[0]), Parse(fields[1]), Parse(fields[2]));
    }

    /// <summary>True when the 1-minute load average is below the number of cores (or cannot be read, e.g. on Windows).</summary>
    public static bool IsIdle() => LoadAverage() is not { } load || load.One < Environment.ProcessorCount;

    /// <summary>The line recorded beside a result: <c>load average 0.12 0.30 0.41 on 2 cores</c>.</summary>
    public static string Describe() => LoadAverage() is { } load
        ? string.Create(CultureInfo.InvariantCulture, $"load average {load.One:F2} {load.Five:F2} {load.Fifteen:F2} on {Environment.ProcessorCount} cores")
        : $"load average unavailable on {Environment.ProcessorCount} cores";

    /// <summary>
    /// Prints why no result is written and returns false when the machine is busy; <paramref name="when"/> says whether
    /// this is the check before or after the run.
    /// </summary>
    public static bool Check(string when, TextWriter log)
    {
        if (IsIdle())
        {
            log.WriteLine($"{when}: {Describe()}");
            return true;
        }
        log.WriteLine($"{when}: {Describe()}: the machine is busy (load at or above the core count), so no result is written. " +
            "Stop the other work and run again.");
        return false;
    }
}
