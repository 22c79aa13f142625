using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Distributed
{
    /// <summary>
    /// Data-parallel training over a process group: every rank holds the whole model and trains on its own part of the
    /// batch; after backward, the gradients are averaged over the ranks, so every rank takes the same optimizer step.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Gradients travel in buckets of about <see cref="DataParallelOptions.BucketBytes"/> (25 MiB by default, as PyTorch's DDP).
    /// A bucket starts its all-reduce, on a background thread and a duplicate communicator, as soon as backward has finished
    /// every layer whose parameters it holds, and only after every bucket before it, so all ranks send buckets in the same
    /// order; <see cref="SynchronizeGradients"/> starts the rest and waits. The gradients are views of the buckets, so the
    /// averages land in them in place (see <see cref="GradientsShareBuckets"/>).
    /// See docs/distributed.md for how much of the communication this hides behind backward.
    /// </para>
    /// <para>
    /// Gradient accumulation: run the backward passes of all micro-batches but the last inside <see cref="NoSync"/>; they
    /// accumulate locally and communicate nothing. The last micro-batch's backward and <see cref="SynchronizeGradients"/>
    /// then average the accumulated sums once.
    /// </para>
    /// <code>
    /// using var ddp = new DistributedDataParallel(model, World.Group);
    /// using (ddp.NoSync()) { for (var i = 0; i &lt; microBatches - 1; i++) loss(i).backward(); }
    /// loss(microBatches - 1).backward();
    /// ddp.SynchronizeGradients();
    /// optimizer.step();
    /// </code>
    /// </remarks>
    public sealed class DistributedDataParallel : IDisposable
    {
        private readonly ProcessGroup _group;
        private readonly List<GradientBucket> _buckets;
        private readonly List<Action> _hooks = new();
        private readonly Dictionary<Parameter, int> _bucketOf = new(ReferenceEqualityComparer.Instance);
        private readonly List<Parameter[]> _layerParameters = new();
        private readonly Dictionary<Parameter, int[]> _owners = new(ReferenceEqualityComparer.Instance);
        private readonly BucketReducer? _reducer;
        private int _noSyncDepth;
        private bool _disposed;

        // The current round (from the first synced forward to SynchronizeGradients); touched by the training thread and,
        // during backward, by the autograd engine on that same thread for CPU tensors.
        private readonly object _roundLock = new();
        private int[] _outstandingUses = Array.Empty<int>();
        private int[] _pendingInBucket = Array.Empty<int>();
        private readonly HashSet<Parameter> _ready = new(ReferenceEqualityComparer.Instance);
        private int _nextToLaunch;
        private int _launchedDuringBackward;
        private bool _roundOpen;
        private Exception? _backwardFailure;

        /// <summary>
        /// Wraps <paramref name="module"/> for data-parallel training over <paramref name="group"/>. A collective: every rank
        /// must construct it, with the same model structure. By default rank 0's parameters and buffers are copied to all ranks.
        /// </summary>
        public DistributedDataParallel(nn.Module module, ProcessGroup group, DataParallelOptions? options = null)
        {
            ArgumentNullException.ThrowIfNull(module);
            ArgumentNullException.ThrowIfNull(group);
            options ??= new DataParallelOptions();
            if (options.BucketBytes < 1) throw new ArgumentOutOfRangeException(nameof(options), options.BucketBytes, "BucketBytes must be positive.");
            Module = module;
            _group = group;

            var trainable = module.parameters().Where(p => p.requires_grad).ToList();
            _buckets = GradientBucket.Plan(trainable, options.BucketBytes);
            foreach (var bucket in _buckets)
                foreach (var parameter in bucket.Parameters) _bucketOf[parameter] = bucket.Index;

            if (options.BroadcastParameters && group.Size > 1) BroadcastState(module, group);
            if (group.Size == 1) return; // Nothing to average: no hooks, no thread, gradients left as they are.
            foreach (var bucket in _buckets) bucket.AttachGradientViews();

            var overlap = options.OverlapWithBackward && group is MpiProcessGroup && World.ThreadSupport >= 3;
            _reducer = new BucketReducer(overlap ? ((MpiProcessGroup)group).Duplicate() : group, background: overlap);
            if (overlap) InstallHooks(module);
            OverlapsWithBackward = overlap;
        }

        /// <summary>The wrapped model.</summary>
        public nn.Module Module { get; }

        /// <summary>The gradient buckets' sizes in bytes, in launch order.</summary>
        public IReadOnlyList<long> BucketBytes => _buckets.Select(b => b.Bytes).ToArray();

        /// <summary>Whether buckets start during backward (false when MPI lacks thread support or the group is not MPI's).</summary>
        public bool OverlapsWithBackward { get; }

        /// <summary>
        /// Whether every trainable parameter's gradient is a view of its bucket right now, so that the buckets cost no memory
        /// beyond the gradients. It stays true while gradients are zeroed in place (<c>zero_grad(false)</c>); setting them to
        /// none makes the next backward allocate fresh ones, which the next synchronization copies in and frees.
        /// Always false in a one-rank group, which keeps no buckets.
        /// </summary>
        public bool GradientsShareBuckets => _reducer is not null && _buckets.All(b => b.GradientsAreViews());

        /// <summary>What the last <see cref="SynchronizeGradients"/> measured, or null before the first.</summary>
        public DataParallelStep? LastStep { get; private set; }

        /// <summary>
        /// A scope in which backward passes accumulate gradients locally and communicate nothing (every micro-batch but the
        /// last of a gradient-accumulation step). Dispose it before the last micro-batch's forward.
        /// </summary>
        public IDisposable NoSync()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _noSyncDepth++;
            return new Scope(() => _noSyncDepth--);
        }

        /// <summary>
        /// Averages the gradients over the group: starts every bucket not yet started and waits for all; afterwards every
        /// parameter's gradient holds the average. Call it after the last micro-batch's backward, before the optimizer step.
        /// </summary>
        /// <exception cref="InvalidOperationException">Called inside <see cref="NoSync"/>, or backward failed in a hook.</exception>
        public void SynchronizeGradients()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_noSyncDepth > 0) throw new InvalidOperationException("SynchronizeGradients was called inside NoSync(); leave the scope for the last micro-batch first.");
            var start = Stopwatch.GetTimestamp();
            if (_reducer is null)
            {
                LastStep = new DataParallelStep(_buckets.Count, 0, 0, 0, 0);
                return;
            }
            Exception? failure;
            lock (_roundLock)
            {
                failure = _backwardFailure;
                _backwardFailure = null;
                while (_nextToLaunch < _buckets.Count) Launch(_buckets[_nextToLaunch++]);
            }
            // The buckets are the gradients (views), averaged in place: nothing to copy back.
            var timings = _reducer.WaitAll();
            var launchedEarly = _launchedDuringBackward;
            ResetRound();
            if (failure is not null) throw new InvalidOperationException("Gradient bookkeeping failed during backward: " + failure.Message, failure);
            var end = Stopwatch.GetTimestamp();
            var communication = timings.Sum(t => Seconds(t.Start, t.End));
            var hidden = timings.Sum(t => Math.Max(0, Seconds(t.Start, Math.Min(t.End, start))));
            LastStep = new DataParallelStep(_buckets.Count, launchedEarly, communication, hidden, Seconds(start, end));
        }

        /// <summary>Removes the hooks, stops the background thread and frees the buckets.</summary>
        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var remove in _hooks) remove();
            _reducer?.Dispose();
            foreach (var bucket in _buckets) bucket.Dispose();
        }

        private void InstallHooks(nn.Module module)
        {
            foreach (var layer in module.modules())
            {
                var own = layer.named_parameters(false).Select(p => p.Item2).Where(p => p.requires_grad && _bucketOf.ContainsKey(p)).ToArray();
                // Only single-tensor layers take a pre-hook that can replace their input; the others' buckets start at synchronization.
                if (own.Length == 0 || layer is not nn.Module<Tensor, Tensor> hookable) continue;
                var index = _layerParameters.Count;
                _layerParameters.Add(own);
                var remover = hookable.register_forward_pre_hook((_, input) => OnLayerForward(index, input));
                _hooks.Add(remover.remove);
            }
            foreach (var group in _layerParameters.SelectMany((parameters, layer) => parameters.Select(p => (p, layer))).GroupBy(x => x.p, ReferenceEqualityComparer.Instance))
                _owners[(Parameter)group.Key!] = group.Select(x => x.layer).ToArray();
            ResetRound();
        }

        // Forward: count the use and route the input through the marker, unless gradients stay local or none will flow.
        private Tensor OnLayerForward(int layer, Tensor input)
        {
            if (_noSyncDepth > 0 || !torch.is_grad_enabled() || !input.requires_grad) return input;
            lock (_roundLock)
            {
                if (_roundOpen && _nextToLaunch > 0)
                    throw new InvalidOperationException("A forward pass started before SynchronizeGradients was called for the previous backward; call it after every backward outside NoSync().");
                _outstandingUses[layer]++;
            }
            // The owner stashes its own failures in the callback and rethrows them from SynchronizeGradients.
            return GradientsReady.Mark(input, () => OnLayerBackwardDone(layer));
        }

        // Backward (inside the autograd engine): must not throw.
        private void OnLayerBackwardDone(int layer)
        {
            try
            {
                lock (_roundLock)
                {
                    _roundOpen = true;
                    if (--_outstandingUses[layer] > 0) return;
                    foreach (var parameter in _layerParameters[layer])
                    {
                        if (_ready.Contains(parameter) || _owners[parameter].Any(owner => _outstandingUses[owner] > 0)) continue;
                        _ready.Add(parameter);
                        _pendingInBucket[_bucketOf[parameter]]--;
                    }
                    while (_nextToLaunch < _buckets.Count && _pendingInBucket[_nextToLaunch] == 0)
                    {
                        Launch(_buckets[_nextToLaunch++]);
                        _launchedDuringBackward++;
                    }
                }
            }
            catch (Exception e)
            {
                _backwardFailure ??= e;
            }
        }

        private void Launch(GradientBucket bucket) => _reducer!.Start(bucket, bucket.Gather());

        private void ResetRound()
        {
            lock (_roundLock)
            {
                _outstandingUses = new int[_layerParameters.Count];
                _pendingInBucket = _buckets.Select(b => b.Parameters.Count).ToArray();
                _ready.Clear();
                _nextToLaunch = 0;
                _launchedDuringBackward = 0;
                _roundOpen = false;
            }
        }

        private static void BroadcastState(nn.Module module, ProcessGroup group)
        {
            using var noGrad = torch.no_grad();
            foreach (var parameter in module.parameters()) group.Broadcast(parameter, 0);
            foreach (var (_, buffer) in module.named_buffers(true, true)) group.Broadcast(buffer, 0);
        }

        private static double Seconds(long from, long to) => Math.Max(0, to - from) / (double)Stopwatch.Frequency;

        private sealed class Scope : IDisposable
        {
            private Action? _onDispose;
            public Scope(Action onDispose) => _onDispose = onDispose;
            public void Dispose()
            {
                _onDispose?.Invoke();
                _onDispose = null;
            }
        }
    }
}
