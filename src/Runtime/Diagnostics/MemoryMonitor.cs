using System;
using System.Globalization;
using System.IO;

namespace ModelGen
{
    /// <summary>
    /// Watches memory while a program runs. An instance reads GPU memory through NVML when the NVIDIA driver's
    /// <c>libnvidia-ml.so.1</c> is there, and this process's resident memory against the host's RAM otherwise; each
    /// <see cref="Sample"/> is kept in <see cref="History"/> (which the <c>modelgen</c> tool charts) and raises <see cref="Alert"/>
    /// when a device crosses the threshold (0.85 of its memory by default). The static members measure host memory of this
    /// process as the Linux kernel counts it, for checking the memory model's host-RAM numbers against what a step really touches.
    /// </summary>
    /// <remarks>
    /// Resident memory comes from <c>/proc/self/status</c> (proc(5)): <c>VmRSS</c> is the resident set now, <c>VmHWM</c> its
    /// high-water mark; writing "5" to <c>/proc/self/clear_refs</c> resets the high-water mark (Linux 4.0+). It counts pages actually
    /// touched, so an allocated but never written tensor (<c>torch.empty</c>) does not show until it is filled. NVML's used memory is
    /// the whole device's, every process on it included (what nvidia-smi shows).
    /// </remarks>
    public sealed partial class MemoryMonitor
    {
        private const string StatusPath = "/proc/self/status";
        private const string MemInfoPath = "/proc/meminfo";
        private const string ClearRefsPath = "/proc/self/clear_refs";

        /// <summary>Bytes of this process resident in RAM now (<c>VmRSS</c>).</summary>
        /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
        public static long ResidentBytes() => ReadStatusField("VmRSS:");

        /// <summary>The largest <see cref="ResidentBytes"/> since the process started or since <see cref="ResetPeak"/> (<c>VmHWM</c>).</summary>
        /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
        public static long PeakResidentBytes() => ReadStatusField("VmHWM:");

        /// <summary>Resets <see cref="PeakResidentBytes"/> to the current resident size.</summary>
        /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
        /// <exception cref="InvalidOperationException">The kernel refused the reset (e.g. a read-only /proc).</exception>
        public static void ResetPeak()
        {
            EnsureLinux();
            try {
                File.WriteAllText(ClearRefsPath, "5");
            } catch (Exception e) when (e is IOException or UnauthorizedAccessException) {
                throw new InvalidOperationException($"Could not reset the peak resident size: writing \"5\" to {ClearRefsPath} failed ({e.Message}).", e);
            }
        }

        /// <summary>
        /// Runs <paramref name="step"/> and reports the resident size before it and the peak while it ran.
        /// Collects garbage first so that finalizers queued by earlier work do not free memory during the step.
        /// </summary>
        /// <param name="step">The work to measure.</param>
        /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
        public static HostMemoryMeasurement Measure(Action step)
        {
            ArgumentNullException.ThrowIfNull(step);
            EnsureLinux();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            ResetPeak();
            var baseline = ResidentBytes();
            step();
            var peak = Math.Max(PeakResidentBytes(), baseline);
            return new HostMemoryMeasurement(baseline, peak);
        }

        /// <summary>The host's RAM (<c>MemTotal</c> of <c>/proc/meminfo</c>).</summary>
        /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
        public static long HostMemoryBytes() => ReadStatusField("MemTotal:", MemInfoPath);

        private static long ReadStatusField(string field, string path = StatusPath)
        {
            EnsureLinux();
            foreach (var line in File.ReadLines(path)) {
                if (!line.StartsWith(field, StringComparison.Ordinal))
                    continue;
                // e.g. "VmRSS:\t  123456 kB": the kernel always reports kibibytes.
                var value = line.AsSpan(field.Length).Trim();
                if (value.EndsWith("kB", StringComparison.Ordinal)
                    && long.TryParse(value[..^2].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var kib))
                    return kib * 1024;
                throw new InvalidOperationException($"Unexpected '{line}' in {path}.");
            }
            throw new InvalidOperationException($"{path} has no {field.TrimEnd(':')} line.");
        }

        private static void EnsureLinux()
        {
            if (!OperatingSystem.IsLinux())
                throw new PlatformNotSupportedException("MemoryMonitor reads /proc/self, which only Linux provides.");
        }
    }
}
