using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;

namespace ModelGen
{
    public sealed partial class MemoryMonitor : IDisposable
    {
        /// <summary>The default alert threshold: 0.85 of a device's memory.</summary>
        public const double DefaultThreshold = 0.85;

        /// <summary>The environment variable that names another NVML library (a path, or a name the loader finds).</summary>
        public const string NvmlLibraryVariable = "MODELGEN_NVML_LIBRARY";

        private readonly object _gate = new();
        private readonly Nvml? _nvml;
        private readonly Queue<MemorySample> _history = new();
        private readonly HashSet<int> _above = new();
        private readonly int _capacity;
        private Timer? _timer;
        private bool _disposed;

        private MemoryMonitor(Nvml? nvml, string? nvmlUnavailableReason, double threshold, int capacity)
        {
            _nvml = nvml;
            NvmlUnavailableReason = nvmlUnavailableReason;
            Threshold = threshold;
            _capacity = capacity;
            DeviceCount = nvml?.DeviceCount() ?? 1;
        }

        /// <summary>
        /// Opens a monitor: NVML when it loads and initializes, resident memory otherwise (<see cref="NvmlUnavailableReason"/> says why).
        /// </summary>
        /// <exception cref="ArgumentOutOfRangeException">The threshold is not in (0, 1], or the history capacity is not positive.</exception>
        /// <exception cref="PlatformNotSupportedException">Neither NVML nor Linux's <c>/proc</c> is there.</exception>
        public static MemoryMonitor Open(MemoryMonitorOptions? options = null)
        {
            options ??= new MemoryMonitorOptions();
            if (!(options.Threshold > 0 && options.Threshold <= 1))
                throw new ArgumentOutOfRangeException(nameof(options), options.Threshold, "The alert threshold is a fraction of the device's memory, above 0 and at most 1.");
            if (options.HistoryCapacity <= 0)
                throw new ArgumentOutOfRangeException(nameof(options), options.HistoryCapacity, "The history must keep at least one sample.");
            if (options.ResidentOnly)
                return Resident(options, "resident memory was asked for");
            var library = options.NvmlLibrary
                ?? (Environment.GetEnvironmentVariable(NvmlLibraryVariable) is { Length: > 0 } variable ? variable : Nvml.DefaultLibrary);
            var nvml = Nvml.TryOpen(library, out var reason);
            if (nvml is null)
                return Resident(options, reason);
            try
            {
                if (nvml.DeviceCount() == 0)
                {
                    nvml.Dispose();
                    return Resident(options, "NVML sees no GPU");
                }
                return new MemoryMonitor(nvml, null, options.Threshold, options.HistoryCapacity);
            }
            catch (InvalidOperationException e)
            {
                nvml.Dispose();
                return Resident(options, e.Message);
            }
        }

        private static MemoryMonitor Resident(MemoryMonitorOptions options, string? reason)
        {
            EnsureLinux();
            return new MemoryMonitor(null, reason, options.Threshold, options.HistoryCapacity);
        }

        /// <summary>Where readings come from.</summary>
        public MemorySource Source => _nvml is null ? MemorySource.ResidentMemory : MemorySource.Nvml;

        /// <summary>Why NVML is not used (library missing, an export missing, init failed); null when it is.</summary>
        public string? NvmlUnavailableReason { get; }

        /// <summary>Devices read per sample: the GPUs NVML sees, or 1 (the host).</summary>
        public int DeviceCount { get; }

        /// <summary>The alert threshold, a fraction of each device's memory.</summary>
        public double Threshold { get; }

        /// <summary>Raised (on the sampling thread) when a device goes above <see cref="Threshold"/>; again only after it went back below.</summary>
        public event EventHandler<MemoryAlert>? Alert;

        /// <summary>Every sample kept, oldest first (a copy).</summary>
        public IReadOnlyList<MemorySample> History
        {
            get
            {
                lock (_gate)
                    return _history.ToArray();
            }
        }

        /// <summary>The highest <see cref="MemorySample.UsedBytes"/> per device in <see cref="History"/>.</summary>
        public IReadOnlyDictionary<int, long> PeakUsedBytes()
        {
            var peaks = new Dictionary<int, long>();
            lock (_gate)
            {
                foreach (var sample in _history)
                    peaks[sample.Device] = Math.Max(peaks.GetValueOrDefault(sample.Device), sample.UsedBytes);
            }
            return peaks;
        }

        /// <summary>Reads every device once, keeps the readings and raises alerts; returns the readings.</summary>
        /// <exception cref="ObjectDisposedException">The monitor is disposed.</exception>
        /// <exception cref="InvalidOperationException">NVML reports an error.</exception>
        public IReadOnlyList<MemorySample> Sample()
        {
            var readings = new List<MemorySample>(DeviceCount);
            var alerts = new List<MemoryAlert>();
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                var now = DateTimeOffset.UtcNow;
                for (var device = 0; device < DeviceCount; device++)
                {
                    MemorySample sample;
                    if (_nvml is not null)
                    {
                        var (used, total, name) = _nvml.Memory(device);
                        sample = new MemorySample(now, device, name, used, total, MemorySource.Nvml);
                    }
                    else
                    {
                        sample = new MemorySample(now, 0, "host", ResidentBytes(), HostMemoryBytes(), MemorySource.ResidentMemory);
                    }
                    readings.Add(sample);
                    _history.Enqueue(sample);
                    while (_history.Count > _capacity)
                        _history.Dequeue();
                    if (sample.Fraction >= Threshold)
                    {
                        if (_above.Add(device))
                            alerts.Add(new MemoryAlert(sample, Threshold));
                    }
                    else
                    {
                        _above.Remove(device);
                    }
                }
            }
            foreach (var alert in alerts)
                Alert?.Invoke(this, alert);
            return readings;
        }

        /// <summary>Samples every <paramref name="interval"/> on a timer thread until <see cref="Stop"/> or disposal.</summary>
        /// <exception cref="ArgumentOutOfRangeException">The interval is not positive.</exception>
        public void Start(TimeSpan interval)
        {
            if (interval <= TimeSpan.Zero)
                throw new ArgumentOutOfRangeException(nameof(interval), interval, "The sampling interval must be positive.");
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                _timer?.Dispose();
                _timer = new Timer(_ => SampleQuietly(), null, TimeSpan.Zero, interval);
            }
        }

        /// <summary>Stops timed sampling; the history stays.</summary>
        public void Stop()
        {
            lock (_gate)
            {
                _timer?.Dispose();
                _timer = null;
            }
        }

        /// <summary>Stops sampling and releases NVML.</summary>
        public void Dispose()
        {
            lock (_gate)
            {
                if (_disposed)
                    return;
                _disposed = true;
                _timer?.Dispose();
                _timer = null;
                _nvml?.Dispose();
            }
        }

        private void SampleQuietly()
        {
            try
            {
                Sample();
            }
            catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException or IOException)
            {
                // A timer thread must not throw (it would end the process); a failed reading is simply not kept.
            }
        }
    }
}
