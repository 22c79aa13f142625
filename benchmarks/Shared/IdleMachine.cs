using System;
using System.Globalization;
using System.IO;

namespace ModelGen.Benchmarking;

/// <summary>
/// The load check every benchmark entry point makes: a timing taken while other work competes for the cores is not a
/// result. Entry points record <see cref="Describe"/> beside each result and write nothing when <see cref="Check"/> says
/// the machine was busy, before or after the run.
/// Before the run: the 1-minute load average must be below the core count. After it, the load average would count the benchmark
/// itself (a benchmark on both cores of a 2-core machine raises it to about 2 on its own), so the check judges the CPU time
/// <em>other</em> processes used during the run: the machine's busy time since "before" minus this process's and its finished
/// children's (BenchmarkDotNet runs each benchmark in a child process). Half a core or more of other work means the run was
/// shared. This is what eng/common.sh's <c>mg_require_idle</c> does for the shell benchmarks.
/// </summary>
internal static class IdleMachine
{
    /// <summary>Other processes' CPU, in cores, at or above which a run counts as shared.</summary>
    public const double SharedAtCores = 0.5;

    private static CpuTicks? _before;

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
    /// this is the check before (<c>"before"</c>: the load average, and the CPU counters are recorded) or after the run (any other
    /// value once "before" has passed: other processes' CPU during the run).
    /// </summary>
    public static bool Check(string when, TextWriter log)
    {
        if (when != "before" && _before is { } before && CpuTicks.Read() is { } now)
        {
            var others = OtherCores(before, now, Environment.ProcessorCount);
            var line = string.Create(CultureInfo.InvariantCulture, $"{when}: {Describe()}; other processes used {others:F2} cores during the run");
            if (others < SharedAtCores)
            {
                log.WriteLine(line + " (the load average counts the benchmark's own work)");
                return true;
            }
            log.WriteLine(line + ": it was shared, so no result is written. Stop the other work and run again.");
            return false;
        }
        if (IsIdle())
        {
            if (when == "before")
                _before = CpuTicks.Read();
            log.WriteLine($"{when}: {Describe()}");
            return true;
        }
        log.WriteLine($"{when}: {Describe()}: the machine is busy (load at or above the core count), so no result is written. " +
            "Stop the other work and run again.");
        return false;
    }

    /// <summary>
    /// Cores' worth of CPU that processes other than this one and its finished children used between two readings: the machine's
    /// busy ticks minus this process's, as a share of all the ticks that passed (every core's), times the core count. Never negative.
    /// </summary>
    public static double OtherCores(CpuTicks before, CpuTicks after, int cores)
    {
        var all = after.MachineTotal - before.MachineTotal;
        if (all <= 0)
            return 0;
        var others = (after.MachineBusy - before.MachineBusy) - (after.Own - before.Own);
        return Math.Max(0, (double)others / all * cores);
    }

    /// <summary>
    /// CPU counters in clock ticks (Linux <c>/proc</c>): the machine's busy and total ticks over all cores (<c>/proc/stat</c>: user,
    /// nice, system, irq, softirq and steal are busy; idle and iowait are not), and this process's own plus its waited-for
    /// children's (<c>/proc/self/stat</c>: utime, stime, cutime, cstime).
    /// </summary>
    internal readonly record struct CpuTicks(long MachineBusy, long MachineTotal, long Own)
    {
        /// <summary>The counters now, or null where <c>/proc</c> has none (not Linux).</summary>
        public static CpuTicks? Read()
        {
            if (!File.Exists("/proc/stat") || !File.Exists("/proc/self/stat"))
                return null;
            var cpu = File.ReadAllLines("/proc/stat")[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long Field(int i) => cpu.Length > i ? long.Parse(cpu[i], CultureInfo.InvariantCulture) : 0;
            // cpu user nice system idle iowait irq softirq steal
            var busy = Field(1) + Field(2) + Field(3) + Field(6) + Field(7) + Field(8);
            var total = busy + Field(4) + Field(5);
            // The command name (field 2) may hold spaces: the fields after it start after its closing parenthesis.
            var stat = File.ReadAllText("/proc/self/stat");
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // rest[0] is field 3 (state), so utime (14), stime (15), cutime (16), cstime (17) are rest[11..14].
            var own = long.Parse(rest[11], CultureInfo.InvariantCulture) + long.Parse(rest[12], CultureInfo.InvariantCulture)
                + long.Parse(rest[13], CultureInfo.InvariantCulture) + long.Parse(rest[14], CultureInfo.InvariantCulture);
            return new CpuTicks(busy, total, own);
        }
    }
}
