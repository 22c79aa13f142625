using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using static TorchSharp.torch;

namespace ModelGen.Distributed
{
    /// <summary>
    /// Averages gradient buckets over a group, in the order they are started: on a background thread with its own
    /// communicator (so its all-reduces never interleave with the training thread's collectives), or, without overlap,
    /// on the calling thread when the step synchronizes.
    /// </summary>
    internal sealed class BucketReducer : IDisposable
    {
        private readonly ProcessGroup _group;
        private readonly BlockingCollection<(Tensor Flat, int Index)>? _queue;
        private readonly Thread? _thread;
        private readonly List<(Tensor Flat, int Index)> _deferred = new();
        private readonly List<(long Start, long End)> _timings = new();
        private readonly object _lock = new();
        private int _started, _finished;
        private Exception? _failure;

        public BucketReducer(ProcessGroup group, bool background)
        {
            _group = group;
            if (!background) return;
            _queue = new BlockingCollection<(Tensor, int)>();
            _thread = new Thread(Run) { IsBackground = true, Name = "ModelGen gradient all-reduce" };
            _thread.Start();
        }

        /// <summary>Queues one bucket's flat gradients for averaging.</summary>
        public void Start(GradientBucket bucket, Tensor flat)
        {
            lock (_lock) _started++;
            if (_queue is not null) _queue.Add((flat, bucket.Index));
            else _deferred.Add((flat, bucket.Index));
        }

        /// <summary>Waits until every started bucket is averaged; returns each one's start and end timestamps.</summary>
        public IReadOnlyList<(long Start, long End)> WaitAll()
        {
            foreach (var (flat, _) in _deferred) Reduce(flat);
            _deferred.Clear();
            lock (_lock)
            {
                while (_finished < _started && _failure is null) Monitor.Wait(_lock);
                var failure = _failure;
                var timings = _timings.ToArray();
                _timings.Clear();
                _started = _finished = 0;
                _failure = null;
                if (failure is not null) throw new InvalidOperationException("A gradient all-reduce failed: " + failure.Message, failure);
                return timings;
            }
        }

        public void Dispose()
        {
            _queue?.CompleteAdding();
            _thread?.Join();
            _queue?.Dispose();
            if (!ReferenceEquals(_group, World.Group) && _queue is not null) _group.Dispose();
        }

        private void Run()
        {
            foreach (var (flat, _) in _queue!.GetConsumingEnumerable())
            {
                try
                {
                    Reduce(flat);
                }
                catch (Exception e)
                {
                    lock (_lock)
                    {
                        _failure ??= e;
                        Monitor.PulseAll(_lock);
                    }
                }
            }
        }

        private void Reduce(Tensor flat)
        {
            var start = Stopwatch.GetTimestamp();
            _group.AllReduce(flat, ReduceOp.Average);
            var end = Stopwatch.GetTimestamp();
            lock (_lock)
            {
                _timings.Add((start, end));
                _finished++;
                Monitor.PulseAll(_lock);
            }
        }
    }
}
