using System;
using System.Globalization;

namespace ModelGen
{
    /// <summary>Where a <see cref="MemoryMonitor"/> reads memory from.</summary>
    public enum MemorySource
    {
        /// <summary>GPU frame-buffer memory through NVML (<c>libnvidia-ml.so.1</c>), one reading per device.</summary>
        Nvml = 0,

        /// <summary>This process's resident memory against the host's RAM (<c>/proc</c>), when NVML is not there.</summary>
        ResidentMemory = 1,
    }

    /// <summary>One reading of one device.</summary>
    /// <param name="Time">When it was taken.</param>
    /// <param name="Device">The NVML device index; 0 for the host reading.</param>
    /// <param name="Name">The device's name (<c>NVIDIA H100 80GB HBM3</c>), or <c>host</c>.</param>
    /// <param name="UsedBytes">Memory in use: the whole device's (every process) through NVML; this process's resident set otherwise.</param>
    /// <param name="TotalBytes">The device's memory, or the host's RAM.</param>
    /// <param name="Source">Where it was read.</param>
    public sealed record MemorySample(DateTimeOffset Time, int Device, string Name, long UsedBytes, long TotalBytes, MemorySource Source)
    {
        /// <summary>Used over total, 0 to 1 (0 when the total is unknown).</summary>
        public double Fraction => TotalBytes > 0 ? (double)UsedBytes / TotalBytes : 0;
    }

    /// <summary>A device's memory crossed the monitor's threshold.</summary>
    /// <param name="Sample">The reading that crossed it.</param>
    /// <param name="Threshold">The threshold, as a fraction of the total.</param>
    public sealed record MemoryAlert(MemorySample Sample, double Threshold)
    {
        /// <inheritdoc />
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{Sample.Name}: {Sample.UsedBytes / (double)(1L << 30):0.0} of {Sample.TotalBytes / (double)(1L << 30):0.0} GB in use ({Sample.Fraction * 100:0}%), above the {Threshold * 100:0.#}% threshold");
    }

    /// <summary>How a <see cref="MemoryMonitor"/> is set up.</summary>
    public sealed record MemoryMonitorOptions
    {
        /// <summary>
        /// The NVML library to load; null means the <c>MODELGEN_NVML_LIBRARY</c> environment variable when set, else
        /// <c>libnvidia-ml.so.1</c>. A path loads that file (tests use a stand-in with the same exports).
        /// </summary>
        public string? NvmlLibrary { get; init; }

        /// <summary>Skip NVML and read resident memory.</summary>
        public bool ResidentOnly { get; init; }

        /// <summary>Fraction of a device's memory in use above which <see cref="MemoryMonitor.Alert"/> is raised; 0.85 by default.</summary>
        public double Threshold { get; init; } = MemoryMonitor.DefaultThreshold;

        /// <summary>Samples kept in <see cref="MemoryMonitor.History"/>; the oldest are dropped beyond it.</summary>
        public int HistoryCapacity { get; init; } = 100_000;
    }
}
