using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using ModelGen.Distributed;
using ModelGen.Optimizers;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Training
{
    /// <summary>
    /// Parameters of one unit (a layer, or the model's parameters outside its layers) partitioned over the data-parallel ranks as
    /// ZeRO stage 3 does (Rajbhandari et al. 2020, §5.3): per dtype, the unit's parameters flattened end to end are split into
    /// equal contiguous ranges; a rank keeps only its range (<see cref="Partitions"/>, what the optimizer steps). The model's own
    /// <see cref="Parameter"/> objects stay in place but hold no memory until <see cref="Gather"/> fills them and
    /// <see cref="Release"/> empties them again.
    /// </summary>
    internal sealed class PartitionedParameters : IDisposable
    {
        private static readonly ConditionalWeakTable<Parameter, object> s_partitions = new();
        private readonly ProcessGroup _group;
        private readonly Device _computeDevice;
        private readonly List<Group> _groups = [];
        private bool _gathered;
        private LayerPrefetcher.Pending? _pending;

        public PartitionedParameters(IReadOnlyList<Parameter> parameters, ProcessGroup group, bool offloadToHost)
        {
            _group = group;
            _computeDevice = parameters.Count > 0 ? parameters[0].device : CPU;
            using var _ = no_grad();
            // The views made here (detach, reshape) would keep the whole parameters' storage alive until the garbage collector ran.
            using var scope = NewDisposeScope();
            foreach (var byType in parameters.GroupBy(p => p.dtype)) {
                var members = byType.ToArray();
                var layout = new ShardLayout([members.Sum(p => p.numel())], group.Size);
                var counts = layout.Counts(0);
                var (offset, length) = layout.Owned(0, group.Rank);
                // This rank's range of the flat parameters, copied out before the parameters are emptied.
                using var flat = cat(members.Select(p => p.detach().reshape(-1)).ToList(), 0);
                var owned = flat.narrow(0, offset, length).clone();
                if (offloadToHost)
                    owned = owned.to(CPU);
                var partition = new Parameter(owned, requires_grad: members.Any(p => p.requires_grad));
                partition.DetachFromDisposeScope();
                s_partitions.AddOrUpdate(partition, this);
                _groups.Add(new Group(members, partition, counts));
            }
            Release();
        }

        /// <summary>This rank's partitions (one per dtype), which the optimizer steps instead of the model's parameters.</summary>
        public IEnumerable<Parameter> Partitions => _groups.Select(g => g.Partition);

        /// <summary>The device the gathered parameters (and so the layer's computation) live on.</summary>
        public Device ComputeDevice => _computeDevice;

        /// <summary>The model's parameters of this unit.</summary>
        public IEnumerable<Parameter> Members => _groups.SelectMany(g => g.Members);

        /// <summary>True for a partition made by a <see cref="PartitionedParameters"/>.</summary>
        public static bool IsPartition(Parameter parameter) => s_partitions.TryGetValue(parameter, out _);

        /// <summary>Where this unit's gathers are counted (set by its <see cref="ZeroStage3"/>); null: not counted.</summary>
        public ZeroGatherCounters? Counters { get; set; }

        /// <summary>
        /// All-gathers every rank's range and points the model's parameters at the whole values (on the compute device); takes the
        /// prefetched values when <see cref="BeginPrefetch"/> queued them.
        /// </summary>
        public void Gather()
        {
            if (_gathered)
                return;
            using var _ = no_grad();
            // The narrowed views are only the path to set_: each would otherwise hold the gathered storage until collected.
            using var scope = NewDisposeScope();
            Tensor[] wholes;
            if (_pending is { } pending) {
                _pending = null;
                (wholes, var waited) = pending.Wait();
                Counters?.Prefetched(pending.GatherSeconds, waited);
            } else {
                var start = System.Diagnostics.Stopwatch.GetTimestamp();
                wholes = GatherWholes(_group);
                Counters?.Blocking(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds);
            }
            for (var g = 0; g < _groups.Count; g++) {
                var group = _groups[g];
                var whole = wholes[g];
                var offset = 0L;
                foreach (var member in group.Members) {
                    var shape = group.Shape(member);
                    var count = shape.Aggregate(1L, (a, b) => a * b);
                    member.set_(whole.narrow(0, offset, count).view(shape));
                    offset += count;
                }
                group.Whole = whole;
            }
            _gathered = true;
        }

        /// <summary>Queues this unit's gather on <paramref name="prefetcher"/>'s thread unless it is gathered or queued already.</summary>
        public void BeginPrefetch(LayerPrefetcher prefetcher)
        {
            if (!_gathered && _pending is null && _groups.Count > 0)
                _pending = prefetcher.Start(this);
        }

        /// <summary>Waits for a queued prefetch that will not be used (the step ended first) and frees it.</summary>
        public void DropPrefetch()
        {
            if (_pending is not { } pending)
                return;
            _pending = null;
            foreach (var whole in pending.Wait().Wholes)
                whole.Dispose();
        }

        /// <summary>The whole flat values of each dtype group, gathered over <paramref name="group"/>, on the compute device, outside any dispose scope.</summary>
        internal Tensor[] GatherWholes(ProcessGroup group)
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            var wholes = new Tensor[_groups.Count];
            for (var g = 0; g < _groups.Count; g++) {
                var whole = group.AllGather(_groups[g].Partition.detach());
                if (whole.device_type != _computeDevice.type || whole.device_index != _computeDevice.index) {
                    var moved = whole.to(_computeDevice);
                    whole.Dispose();
                    whole = moved;
                }
                wholes[g] = whole.DetachFromDisposeScope();
            }
            return wholes;
        }

        /// <summary>Empties the model's parameters: their memory is freed, the partitions keep this rank's values.</summary>
        public void Release()
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            foreach (var group in _groups) {
                foreach (var member in group.Members)
                    member.set_(empty(0, member.dtype, _computeDevice));
                group.Whole?.Dispose();
                group.Whole = null;
            }
            _gathered = false;
        }

        /// <summary>
        /// Averages the whole-parameter gradients <paramref name="gradients"/> (in <see cref="Members"/> order, null: none) over the
        /// ranks and returns each rank's range, one per partition, in <see cref="Partitions"/> order.
        /// </summary>
        public List<Tensor> ReduceScatter(IReadOnlyList<Tensor?> gradients)
        {
            var result = new List<Tensor>(_groups.Count);
            var index = 0;
            foreach (var group in _groups) {
                var pieces = new List<Tensor>(group.Members.Length);
                foreach (var member in group.Members) {
                    var gradient = gradients[index++];
                    var count = group.Shape(member).Aggregate(1L, (a, b) => a * b);
                    pieces.Add(gradient is null ? zeros(count, member.dtype, _computeDevice) : gradient.reshape(-1));
                }
                var flat = cat(pieces, 0);
                var mine = _group.ReduceScatter(flat, ReduceOp.Average, group.Counts);
                result.Add(mine.to(group.Partition.device));
            }
            return result;
        }

        /// <summary>This rank's ranges of each member (named by <paramref name="nameOf"/>), cut from the partitions without copying.</summary>
        public IEnumerable<TensorSlice> Slices(Func<Parameter, string> nameOf)
        {
            foreach (var group in _groups) {
                var start = group.Counts.Take(_group.Rank).Sum();
                var end = start + group.Counts[_group.Rank];
                var memberStart = 0L;
                foreach (var member in group.Members) {
                    var shape = group.Shape(member);
                    var count = shape.Aggregate(1L, (a, b) => a * b);
                    var from = Math.Max(start, memberStart);
                    var to = Math.Min(end, memberStart + count);
                    if (to > from)
                        yield return new TensorSlice(nameOf(member), shape, member.dtype, from - memberStart,
                            group.Partition.detach().narrow(0, from - start, to - from));
                    memberStart += count;
                }
            }
        }

        /// <summary>
        /// Where each element of <paramref name="partition"/> (one of <see cref="Partitions"/>) lives in the model's state_dict: one
        /// segment per member this rank holds a range of; empty for a parameter that is not one of this unit's partitions.
        /// </summary>
        internal IReadOnlyList<Optimizers.StateSegment> Segments(Parameter partition, Func<Parameter, string> nameOf)
        {
            var segments = new List<Optimizers.StateSegment>();
            foreach (var group in _groups) {
                if (!ReferenceEquals(group.Partition, partition))
                    continue;
                var start = group.Counts.Take(_group.Rank).Sum();
                var end = start + group.Counts[_group.Rank];
                var memberStart = 0L;
                foreach (var member in group.Members) {
                    var shape = group.Shape(member);
                    var count = shape.Aggregate(1L, (a, b) => a * b);
                    var from = Math.Max(start, memberStart);
                    var to = Math.Min(end, memberStart + count);
                    if (to > from)
                        segments.Add(new Optimizers.StateSegment(nameOf(member), shape, from - memberStart, from - start, to - from));
                    memberStart += count;
                }
            }
            return segments;
        }

        /// <summary>Frees the partitions. The model's parameters keep what they hold: the whole values if gathered, else nothing.</summary>
        public void Dispose()
        {
            DropPrefetch();
            foreach (var group in _groups) {
                group.Whole?.Dispose(); // the parameters share its storage and keep it alive
                group.Whole = null;
                group.Partition.Dispose();
            }
        }

        private sealed class Group(Parameter[] members, Parameter partition, long[] counts)
        {
            private readonly Dictionary<Parameter, long[]> _shapes = members.ToDictionary<Parameter, Parameter, long[]>(m => m, m => m.shape, ReferenceEqualityComparer.Instance);

            public Parameter[] Members { get; } = members;

            public Parameter Partition { get; } = partition;

            public long[] Counts { get; } = counts;

            public Tensor? Whole { get; set; }

            public long[] Shape(Parameter member) => _shapes[member];
        }
    }
}
