using System;
using System.Collections.Generic;

namespace ModelGen
{
    /// <summary>
    /// Where a long run stands, reported through <see cref="IProgress{T}"/> so the library never writes to a console: a sample or
    /// the <c>modelgen</c> tool renders it (with Spectre.Console), a service logs it, a test records it.
    /// </summary>
    /// <param name="Rank">The reporting process's rank (0 in a single process).</param>
    /// <param name="Step">Steps done (1 after the first).</param>
    /// <param name="TotalSteps">Steps planned; 0 when open-ended.</param>
    /// <param name="Tokens">Tokens processed so far by this rank.</param>
    /// <param name="TokensPerSecond">Tokens per second over the last step.</param>
    /// <param name="AverageTokensPerSecond">Tokens per second since the first step began.</param>
    /// <param name="Loss">The last step's loss, when the caller gives one.</param>
    /// <param name="Elapsed">Time since the tracker was created.</param>
    /// <param name="PeakMemory">Measured peak memory per device since the tracker was created (empty without a monitor).</param>
    public sealed record TrainingProgress(
        int Rank, long Step, long TotalSteps, long Tokens, double TokensPerSecond, double AverageTokensPerSecond, double? Loss,
        TimeSpan Elapsed, IReadOnlyList<DevicePeak> PeakMemory)
    {
        /// <summary>Fraction of <see cref="TotalSteps"/> done, 0 to 1; null when open-ended.</summary>
        public double? Fraction => TotalSteps > 0 ? Math.Min(1, (double)Step / TotalSteps) : null;

        /// <summary>Estimated time left at the average rate; null when open-ended or not started.</summary>
        public TimeSpan? Remaining => TotalSteps > 0 && Step > 0 ? TimeSpan.FromTicks(Elapsed.Ticks / Step * Math.Max(0, TotalSteps - Step)) : null;
    }

    /// <summary>The highest memory in use seen on one device.</summary>
    /// <param name="Device">The device index (NVML's), or 0 for the host.</param>
    /// <param name="Name">The device's name.</param>
    /// <param name="PeakBytes">The highest used bytes sampled.</param>
    /// <param name="TotalBytes">The device's memory.</param>
    /// <param name="Source">Where it was read.</param>
    public sealed record DevicePeak(int Device, string Name, long PeakBytes, long TotalBytes, MemorySource Source);

    /// <summary>
    /// Turns "a step finished" into <see cref="TrainingProgress"/> reports: counts steps and tokens, measures rates with a monotonic
    /// clock, and (with a <see cref="MemoryMonitor"/>) samples memory after each step and reports the peak per device.
    /// </summary>
    public sealed class TrainingProgressTracker
    {
        private readonly IProgress<TrainingProgress> _progress;
        private readonly MemoryMonitor? _monitor;
        private readonly TimeProvider _time;
        private readonly long _start;
        private readonly Dictionary<int, DevicePeak> _peaks = new();
        private long _lastStep;
        private long _step;
        private long _tokens;

        /// <summary>Creates a tracker that reports to <paramref name="progress"/>.</summary>
        /// <param name="progress">Receives one report per <see cref="StepCompleted"/>.</param>
        /// <param name="totalSteps">Steps planned; 0 when open-ended.</param>
        /// <param name="monitor">Sampled after each step for the peaks; null reports no memory.</param>
        /// <param name="rank">This process's rank.</param>
        /// <param name="time">The clock; <see cref="TimeProvider.System"/> when null (tests pass a fake one).</param>
        /// <exception cref="ArgumentNullException"><paramref name="progress"/> is null.</exception>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="totalSteps"/> or <paramref name="rank"/> is negative.</exception>
        public TrainingProgressTracker(IProgress<TrainingProgress> progress, long totalSteps = 0, MemoryMonitor? monitor = null, int rank = 0, TimeProvider? time = null)
        {
            ArgumentNullException.ThrowIfNull(progress);
            ArgumentOutOfRangeException.ThrowIfNegative(totalSteps);
            ArgumentOutOfRangeException.ThrowIfNegative(rank);
            _progress = progress;
            TotalSteps = totalSteps;
            _monitor = monitor;
            Rank = rank;
            _time = time ?? TimeProvider.System;
            _start = _time.GetTimestamp();
            _lastStep = _start;
        }

        /// <summary>Steps planned; 0 when open-ended.</summary>
        public long TotalSteps { get; }

        /// <summary>The rank reported.</summary>
        public int Rank { get; }

        /// <summary>Records a finished step of <paramref name="tokens"/> tokens and reports it.</summary>
        /// <param name="tokens">Tokens the step processed on this rank (batch × sequence length).</param>
        /// <param name="loss">The step's loss, if known.</param>
        /// <returns>The report sent.</returns>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="tokens"/> is negative.</exception>
        public TrainingProgress StepCompleted(long tokens, double? loss = null)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(tokens);
            var now = _time.GetTimestamp();
            var stepTime = _time.GetElapsedTime(_lastStep, now);
            var elapsed = _time.GetElapsedTime(_start, now);
            _lastStep = now;
            _step++;
            _tokens += tokens;
            if (_monitor is not null)
            {
                foreach (var sample in _monitor.Sample())
                {
                    if (!_peaks.TryGetValue(sample.Device, out var peak) || sample.UsedBytes > peak.PeakBytes)
                        _peaks[sample.Device] = new DevicePeak(sample.Device, sample.Name, sample.UsedBytes, sample.TotalBytes, sample.Source);
                }
            }
            var report = new TrainingProgress(Rank, _step, TotalSteps, _tokens, Rate(tokens, stepTime), Rate(_tokens, elapsed), loss, elapsed,
                new List<DevicePeak>(_peaks.Values));
            _progress.Report(report);
            return report;
        }

        private static double Rate(long tokens, TimeSpan time) => time > TimeSpan.Zero ? tokens / time.TotalSeconds : 0;
    }
}
