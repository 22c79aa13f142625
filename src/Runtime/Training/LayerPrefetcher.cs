using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading;
using ModelGen.Distributed;
using static TorchSharp.torch;

namespace ModelGen.Training
{
    /// <summary>
    /// Gathers ZeRO-3 layers ahead of their use, on a thread of its own with its own communicator (a duplicate of the data-parallel
    /// group), so that the next layer's all-gather runs while the current layer computes. One thread and one queue keep the
    /// gathers in the order they were asked for, which is the same on every rank: collectives on one communicator must match.
    /// </summary>
    /// <remarks>
    /// The binding's collectives block; overlap comes from the thread, as for <see cref="DistributedDataParallel"/>'s buckets, and
    /// needs MPI_THREAD_MULTIPLE. It pays only where communication does not need the compute cores (docs/distributed.md).
    /// </remarks>
    internal sealed class LayerPrefetcher : IDisposable
    {
        private readonly ProcessGroup _group;
        private readonly BlockingCollection<Pending> _queue = new();
        private readonly Thread _thread;

        public LayerPrefetcher(ProcessGroup group)
        {
            _group = group;
            _thread = new Thread(Run) { IsBackground = true, Name = "ModelGen ZeRO-3 prefetch" };
            _thread.Start();
        }

        /// <summary>Queues the gather of <paramref name="parameters"/>' whole values.</summary>
        public Pending Start(PartitionedParameters parameters)
        {
            var pending = new Pending(parameters);
            _queue.Add(pending);
            return pending;
        }

        private void Run()
        {
            foreach (var pending in _queue.GetConsumingEnumerable()) {
                var start = Stopwatch.GetTimestamp();
                try {
                    pending.Complete(pending.Parameters.GatherWholes(_group), null, start);
                } catch (Exception exception) {
                    pending.Complete(null, exception, start);
                }
            }
        }

        /// <summary>Stops the thread after the queued gathers and frees the communicator.</summary>
        public void Dispose()
        {
            _queue.CompleteAdding();
            _thread.Join();
            _queue.Dispose();
            _group.Dispose();
        }

        /// <summary>One queued gather: its result (the whole tensors, one per dtype group) once the thread has finished it.</summary>
        internal sealed class Pending(PartitionedParameters parameters)
        {
            private readonly ManualResetEventSlim _done = new();
            private Tensor[]? _wholes;
            private Exception? _failure;

            public PartitionedParameters Parameters { get; } = parameters;

            /// <summary>Seconds the gather took on the prefetch thread.</summary>
            public double GatherSeconds { get; private set; }

            public void Complete(Tensor[]? wholes, Exception? failure, long start)
            {
                GatherSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                _wholes = wholes;
                _failure = failure;
                _done.Set();
            }

            /// <summary>Waits for the gather; returns the tensors and the seconds this thread waited.</summary>
            /// <exception cref="InvalidOperationException">The gather failed on the prefetch thread.</exception>
            public (Tensor[] Wholes, double WaitedSeconds) Wait()
            {
                var start = Stopwatch.GetTimestamp();
                _done.Wait();
                var waited = Stopwatch.GetElapsedTime(start).TotalSeconds;
                _done.Dispose();
                if (_failure is not null)
                    throw new InvalidOperationException("A ZeRO-3 prefetch all-gather failed: " + _failure.Message, _failure);
                return (_wholes!, waited);
            }
        }
    }
}
