using System;

namespace ModelGen
{
    /// <summary>
    /// Where loading weights stands (a checkpoint file, a state dict, quantize-on-load), reported through
    /// <see cref="IProgress{T}"/> like <see cref="TrainingProgress"/>, so loaders never write to a console.
    /// </summary>
    /// <param name="Source">What is being loaded, e.g. a file name.</param>
    /// <param name="TensorsLoaded">Tensors done.</param>
    /// <param name="TotalTensors">Tensors to load; 0 when unknown.</param>
    /// <param name="BytesLoaded">Bytes read so far.</param>
    /// <param name="TotalBytes">Bytes to read; 0 when unknown.</param>
    /// <param name="BytesPerSecond">Bytes per second since loading began.</param>
    /// <param name="Elapsed">Time since the tracker was created.</param>
    public sealed record LoadingProgress(string Source, long TensorsLoaded, long TotalTensors, long BytesLoaded, long TotalBytes, double BytesPerSecond, TimeSpan Elapsed)
    {
        /// <summary>Fraction done by bytes (by tensors when the bytes are unknown), 0 to 1; null when neither total is known.</summary>
        public double? Fraction => TotalBytes > 0 ? Math.Min(1, (double)BytesLoaded / TotalBytes)
            : TotalTensors > 0 ? Math.Min(1, (double)TensorsLoaded / TotalTensors)
            : null;

        /// <summary>Estimated time left at the rate so far; null when the total is unknown or nothing is loaded yet.</summary>
        public TimeSpan? Remaining => Fraction is > 0 and var done ? TimeSpan.FromTicks((long)(Elapsed.Ticks * (1 - done) / done)) : null;
    }

    /// <summary>Turns "a tensor was loaded" into <see cref="LoadingProgress"/> reports, with rates from a monotonic clock.</summary>
    public sealed class LoadingProgressTracker
    {
        private readonly IProgress<LoadingProgress> _progress;
        private readonly TimeProvider _time;
        private readonly long _start;
        private long _tensors;
        private long _bytes;

        /// <summary>Creates a tracker for loading <paramref name="source"/>.</summary>
        /// <param name="progress">Receives one report per <see cref="TensorLoaded"/>.</param>
        /// <param name="source">What is loaded (shown in reports).</param>
        /// <param name="totalTensors">Tensors to load; 0 when unknown.</param>
        /// <param name="totalBytes">Bytes to read; 0 when unknown.</param>
        /// <param name="time">The clock; <see cref="TimeProvider.System"/> when null.</param>
        /// <exception cref="ArgumentNullException"><paramref name="progress"/> or <paramref name="source"/> is null.</exception>
        /// <exception cref="ArgumentOutOfRangeException">A total is negative.</exception>
        public LoadingProgressTracker(IProgress<LoadingProgress> progress, string source, long totalTensors = 0, long totalBytes = 0, TimeProvider? time = null)
        {
            ArgumentNullException.ThrowIfNull(progress);
            ArgumentNullException.ThrowIfNull(source);
            ArgumentOutOfRangeException.ThrowIfNegative(totalTensors);
            ArgumentOutOfRangeException.ThrowIfNegative(totalBytes);
            _progress = progress;
            Source = source;
            TotalTensors = totalTensors;
            TotalBytes = totalBytes;
            _time = time ?? TimeProvider.System;
            _start = _time.GetTimestamp();
        }

        /// <summary>What is loaded.</summary>
        public string Source { get; }

        /// <summary>Tensors to load; 0 when unknown.</summary>
        public long TotalTensors { get; }

        /// <summary>Bytes to read; 0 when unknown.</summary>
        public long TotalBytes { get; }

        /// <summary>Records one loaded tensor of <paramref name="bytes"/> bytes and reports it.</summary>
        /// <returns>The report sent.</returns>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is negative.</exception>
        public LoadingProgress TensorLoaded(long bytes)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(bytes);
            _tensors++;
            _bytes += bytes;
            var elapsed = _time.GetElapsedTime(_start);
            var report = new LoadingProgress(Source, _tensors, TotalTensors, _bytes, TotalBytes, elapsed > TimeSpan.Zero ? _bytes / elapsed.TotalSeconds : 0, elapsed);
            _progress.Report(report);
            return report;
        }
    }
}
