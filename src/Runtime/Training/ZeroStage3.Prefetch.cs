using System;
using System.Collections.Generic;

namespace ModelGen.Training
{
    public sealed partial class ZeroStage3
    {
        private readonly List<PartitionedParameters> _order = [];
        private readonly Dictionary<PartitionedParameters, PartitionedParameters> _successor = new(ReferenceEqualityComparer.Instance);
        private readonly ZeroGatherCounters _counters = new();
        private readonly LayerPrefetcher? _prefetcher;
        private PartitionedParameters? _previous;

        /// <summary>
        /// The all-gathers of the last micro-batch (from its <see cref="BeginForward"/> to its <see cref="Backward"/>): how many, how
        /// many were prefetched, and how much of their time the training thread waited. Null before the first <see cref="Backward"/>.
        /// </summary>
        public ZeroGatherReport? LastStep { get; private set; }

        /// <summary>True when the next layer is gathered on a thread of its own while the current one computes.</summary>
        public bool Prefetches => _prefetcher is not null;

        /// <summary>Waits for every queued prefetch and frees it (every rank queued the same, so every rank can wait).</summary>
        private void DropPrefetches()
        {
            foreach (var layer in _order)
                layer.DropPrefetch();
        }

        /// <summary>
        /// What to prefetch around a call of <paramref name="current"/>: in the forward, the layer that followed it last time (at
        /// first, the next one in the constructor's order); in backward, which runs the layers in reverse, the layer that ran just
        /// before it in this forward. Every rank predicts the same, so the prefetch thread's gathers match across ranks.
        /// </summary>
        private (Action? Next, Action? Previous) Neighbours(PartitionedParameters current)
        {
            var before = _previous;
            if (before is not null)
                _successor[before] = current;
            _previous = current;
            if (_prefetcher is not { } prefetcher)
                return (null, null);
            if (!_successor.TryGetValue(current, out var next)) {
                var index = _order.IndexOf(current);
                next = index >= 0 && index + 1 < _order.Count ? _order[index + 1] : null;
            }
            return (next is null ? null : () => next.BeginPrefetch(prefetcher), before is null ? null : () => before.BeginPrefetch(prefetcher));
        }
    }
}
