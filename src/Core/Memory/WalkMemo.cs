using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// Sublayer walks remembered across the estimates of one analysis (one budget's remedy search, fit and catalog fit): a remedy
    /// candidate changes one layer spec and shares every other with the declared model, so with this memo a candidate costs the walk
    /// of the layer it changes, not of every layer. Create one per analysis and drop it with it; it is not thread-safe, and it holds
    /// at most <see cref="MaxKept"/> walks.
    /// <para>
    /// A remembered walk is replayed only when everything the walk of that sublayer reads is the same: the sublayer's spec (the same
    /// object: specs are immutable), the precision it inherits, its path, its instance count, the enclosing LoRA scope, the pass
    /// (batch, positions, tensor-parallel ranks, training or not, device), sequence parallelism, whether the model has adapters at all,
    /// and the spec every layer type it reaches resolves to (the same object, or still missing). Replaying adds the totals, steps and
    /// per-layer entries the walk added, in the order it added them, so an estimate is the same with or without the memo.
    /// </para>
    /// </summary>
    public sealed class WalkMemo
    {
        /// <summary>The most sublayer walks one memo keeps; walks past it are computed and not kept (a bound for the IDE's memory).</summary>
        public const int MaxKept = 4096;

        private readonly List<WalkContext> _contexts = new();

        // Per layer spec (by reference): the largest trainable tensor of its own blocks, per precision and tensor-parallel ranks.
        private readonly Dictionary<LayerSpec, List<OwnTensor>> _ownTensors = new(SameSpec.Instance);
        private int _ownTensorsKept;

        /// <summary>Sublayer walks replayed from the memo.</summary>
        public int Replayed { get; internal set; }

        /// <summary>Sublayer walks computed (not found in the memo).</summary>
        public int Walked { get; internal set; }

        /// <summary>Sublayer walks kept for replay (at most <see cref="MaxKept"/>).</summary>
        public int Kept { get; private set; }

        /// <summary>The walks remembered for <paramref name="pass"/>; a new, empty table the first time this pass is seen.</summary>
        internal WalkContext For(Pass pass, bool sequenceParallel, bool loraModel)
        {
            foreach (var context in _contexts)
            {
                if (context.Matches(pass, sequenceParallel, loraModel))
                    return context;
            }
            var created = new WalkContext(this, pass, sequenceParallel, loraModel);
            _contexts.Add(created);
            return created;
        }

        /// <summary>The largest trainable tensor (elements per rank) of <paramref name="layer"/>'s own blocks, if sized before.</summary>
        internal long? LargestOwnTensor(LayerSpec layer, DType precision, int ranks)
        {
            if (!_ownTensors.TryGetValue(layer, out var known))
                return null;
            foreach (var own in known)
            {
                if (own.Precision == precision && own.Ranks == ranks)
                    return own.Elements;
            }
            return null;
        }

        /// <summary>Remembers <see cref="LargestOwnTensor"/> (at most <see cref="MaxKept"/> of them).</summary>
        internal void KeepLargestOwnTensor(LayerSpec layer, DType precision, int ranks, long elements)
        {
            if (_ownTensorsKept >= MaxKept)
                return;
            _ownTensorsKept++;
            if (!_ownTensors.TryGetValue(layer, out var known))
                _ownTensors[layer] = known = new List<OwnTensor>(1);
            known.Add(new OwnTensor(precision, ranks, elements));
        }

        /// <summary>Counts a walk kept; false (and nothing counted) when the memo is full.</summary>
        internal bool TryKeep()
        {
            if (Kept >= MaxKept)
                return false;
            Kept++;
            return true;
        }
    }

    /// <summary>A layer's own largest trainable tensor at one precision and tensor-parallel degree.</summary>
    internal sealed class OwnTensor
    {
        public OwnTensor(DType precision, int ranks, long elements)
        {
            Precision = precision;
            Ranks = ranks;
            Elements = elements;
        }

        public DType Precision { get; }

        public int Ranks { get; }

        public long Elements { get; }
    }

    /// <summary>Specs compared by reference: a record's value equality would compare every block, and the same object is what is meant.</summary>
    internal sealed class SameSpec : IEqualityComparer<LayerSpec>
    {
        public static readonly SameSpec Instance = new();

        public bool Equals(LayerSpec? x, LayerSpec? y) => ReferenceEquals(x, y);

        public int GetHashCode(LayerSpec obj) => RuntimeHelpers.GetHashCode(obj);
    }

    /// <summary>The walks remembered for one pass of one kind of walk (shapes, ranks, mode, device, sequence parallelism, adapters).</summary>
    internal sealed class WalkContext
    {
        private readonly long _batch;
        private readonly long _queries;
        private readonly long _keys;
        private readonly int _ranks;
        private readonly bool _training;
        private readonly DeviceProfile _device;
        private readonly bool _sequenceParallel;
        private readonly bool _loraModel;
        private readonly Dictionary<LayerSpec, List<LayerWalk>> _walks = new(SameSpec.Instance);

        public WalkContext(WalkMemo memo, Pass pass, bool sequenceParallel, bool loraModel)
        {
            Memo = memo;
            _batch = pass.Batch;
            _queries = pass.Queries;
            _keys = pass.Keys;
            _ranks = pass.Ranks;
            _training = pass.Training;
            _device = pass.Device;
            _sequenceParallel = sequenceParallel;
            _loraModel = loraModel;
        }

        public WalkMemo Memo { get; }

        /// <summary>Every field of the pass the walk reads (the device by reference: profiles are immutable singletons).</summary>
        public bool Matches(Pass pass, bool sequenceParallel, bool loraModel) =>
            pass.Batch == _batch && pass.Queries == _queries && pass.Keys == _keys && pass.Ranks == _ranks && pass.Training == _training
            && ReferenceEquals(pass.Device, _device) && sequenceParallel == _sequenceParallel && loraModel == _loraModel;

        /// <summary>The remembered walk of <paramref name="layer"/> in this place and scope, or null.</summary>
        public LayerWalk? Find(LayerSpec layer, DType precision, string path, long count, LoraSpec? lora, Dictionary<string, LayerSpec> layers)
        {
            if (!_walks.TryGetValue(layer, out var known))
                return null;
            foreach (var walk in known)
            {
                if (walk.Precision == precision && walk.Count == count && string.Equals(walk.Path, path, StringComparison.Ordinal)
                    && Equals(walk.Lora, lora) && walk.SameSublayers(layers))
                    return walk;
            }
            return null;
        }

        /// <summary>Keeps <paramref name="walk"/> unless the memo is full.</summary>
        public void Keep(LayerSpec layer, LayerWalk walk)
        {
            if (!Memo.TryKeep())
                return;
            if (!_walks.TryGetValue(layer, out var known))
                _walks[layer] = known = new List<LayerWalk>(1);
            known.Add(walk);
        }
    }

    /// <summary>
    /// One remembered walk of one sublayer instance: its key (the rest of it is the <see cref="WalkContext"/> and the spec) and what the
    /// walk produced: its steps, the steps it created, what it added to the model-wide totals, and its per-layer entries in order.
    /// </summary>
    internal sealed class LayerWalk
    {
        public LayerWalk(DType precision, string path, long count, LoraSpec? lora, string[] sublayerTypes, LayerSpec?[] sublayers,
            List<Step> steps, long stepsCreated, long[] totals, List<LayerEntry> entries)
        {
            Precision = precision;
            Path = path;
            Count = count;
            Lora = lora;
            SublayerTypes = sublayerTypes;
            Sublayers = sublayers;
            Steps = steps;
            StepsCreated = stepsCreated;
            Totals = totals;
            Entries = entries;
        }

        public DType Precision { get; }

        public string Path { get; }

        public long Count { get; }

        public LoraSpec? Lora { get; }

        /// <summary>Every layer type the walked layer reaches through its sublayers and stacks, at any depth (what the walk can look up).</summary>
        public string[] SublayerTypes { get; }

        /// <summary>What each of <see cref="SublayerTypes"/> resolved to when the walk ran (null: missing).</summary>
        public LayerSpec?[] Sublayers { get; }

        /// <summary>The steps, never changed after the walk (a replay hands out this list: no walk changes a list it got back).</summary>
        public List<Step> Steps { get; }

        public long StepsCreated { get; }

        /// <summary>What the walk added to each model-wide total (<see cref="ModelWalk"/>'s order).</summary>
        public long[] Totals { get; }

        /// <summary>The per-layer entries the walk added or updated, in order.</summary>
        public List<LayerEntry> Entries { get; }

        /// <summary>True when every layer type the walk could look up resolves to the same spec in <paramref name="layers"/>.</summary>
        public bool SameSublayers(Dictionary<string, LayerSpec> layers)
        {
            for (var i = 0; i < SublayerTypes.Length; i++)
            {
                var now = layers.TryGetValue(SublayerTypes[i], out var found) ? found : null;
                if (!ReferenceEquals(now, Sublayers[i]))
                    return false;
            }
            return true;
        }
    }

    /// <summary>
    /// One change a walk made to <see cref="ModelWalk.Layers"/>: a layer instance's entry (added, or its count raised), or, when
    /// <see cref="Type"/> is null, checkpointed instances added to the entry at <see cref="Path"/> (<see cref="Count"/> × <see cref="Times"/>).
    /// </summary>
    internal sealed class LayerEntry
    {
        public LayerEntry(string path, string? type, long count, long weights, List<SavedTensor>? saved, long times)
        {
            Path = path;
            Type = type;
            Count = count;
            Weights = weights;
            Saved = saved;
            Times = times;
        }

        public string Path { get; }

        public string? Type { get; }

        public long Count { get; }

        public long Weights { get; }

        public List<SavedTensor>? Saved { get; }

        public long Times { get; }
    }
}
