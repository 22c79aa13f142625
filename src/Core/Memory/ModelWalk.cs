using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// Walks a model from its root in declaration order — the order the forward is assumed to call the blocks — resolving
    /// precision (block over layer over parent, fp32 by default), checkpointing (the layer's attribute, or a stack's every-k) and
    /// tensor parallelism, and collects the steps of one pass plus the model-wide totals.
    /// </summary>
    internal sealed partial class ModelWalk
    {
        private readonly Dictionary<string, LayerSpec> _layers;
        private readonly Pass _pass;
        private readonly bool _sequenceParallel;
        private readonly HashSet<string> _visiting = new();
        private readonly bool _loraModel;
        private LoraSpec? _lora;

        private ModelWalk(ModelSpec model, Pass pass, bool sequenceParallel, WalkMemo? memo)
        {
            _layers = new Dictionary<string, LayerSpec>(model.Layers.Count);
            foreach (var layer in model.Layers)
                _layers[layer.FullName] = layer;
            _pass = pass;
            _sequenceParallel = sequenceParallel;
            _loraModel = LoraTerms.HasAdapters(model);
            _remembered = memo?.For(pass, sequenceParallel, _loraModel);
        }

        /// <summary>The steps of one pass in execution order; a [Stack]'s instances are runs (<see cref="Step.Body"/> × <see cref="Step.Count"/>).</summary>
        public List<Step> Steps { get; } = new();

        /// <summary>
        /// Steps and runs this walk created: its cost, which grows with the distinct layer paths of the model and not with the counts of
        /// its stacks. Tests assert it stays small for a stack of a million layers.
        /// </summary>
        public long StepsCreated { get; private set; }

        /// <summary>Single steps the phase computations visited (<see cref="Phases"/> counts them here), for the same tests.</summary>
        public long StepsVisited { get; set; }

        public Dictionary<string, LayerMemory> Layers { get; } = new();

        public long ParameterCount { get; private set; }

        public long TrainableParameterCount { get; private set; }

        /// <summary>Stored parameter bytes per rank, plus rotary tables.</summary>
        public long WeightBytes { get; private set; }

        /// <summary>Gradient bytes of all trainable parameters per rank, at their dtype.</summary>
        public long GradientBytes { get; private set; }

        /// <summary>Trainable elements per rank.</summary>
        public long TrainableElements { get; private set; }

        /// <summary>Trainable 16-bit elements per rank: each gets an fp32 master weight and master gradient.</summary>
        public long SixteenBitTrainableElements { get; private set; }

        /// <summary>AdamW8Bit state of the trainable tensors per rank, tensor by tensor (<see cref="LoraTerms.EightBitStateBytes"/>).</summary>
        public long EightBitStateBytes { get; private set; }

        /// <summary>Keys and values of every attention block for <see cref="Pass.Keys"/> positions.</summary>
        public long KvCacheBytes { get; private set; }

        /// <summary>Rows, vocabulary (or class) columns per rank and element size of the logits the loss reads (all 0 without a loss; <see cref="Heads"/>).</summary>
        public (long Rows, long Columns, int ElementBytes) Logits { get; private set; }

        /// <summary>
        /// The most steps a walk creates. A [Stack] costs the steps of one instance however large its count (its instances are a run),
        /// but each [Sublayer] path is walked on its own, so a diamond of sublayers doubles per level; a model past this limit is
        /// reported (MG0006) before any step is created, instead of exhausting the compiler's memory.
        /// </summary>
        public const long MaxSteps = 200_000;

        /// <summary>Walks <paramref name="model"/> for <paramref name="pass"/>, replaying the sublayer walks <paramref name="memo"/> remembers.</summary>
        /// <exception cref="ArgumentException">A referenced layer is missing, layers recurse, or a size is not positive.</exception>
        /// <exception cref="ModelTooLargeException">More than <see cref="MaxSteps"/> steps to create, or a term overflows 64 bits.</exception>
        public static ModelWalk Run(ModelSpec model, Pass pass, bool sequenceParallel, WalkMemo? memo = null)
        {
            var walk = new ModelWalk(model, pass, sequenceParallel, memo);
            // Training walks a stack as one run; inference walks every instance (see Child), so there the stacks' counts multiply.
            var steps = walk.CountSteps(model.Root, new Dictionary<string, long>(model.Layers.Count + 1), new HashSet<string>(), perInstance: !pass.Training);
            if (steps > MaxSteps)
                throw new ModelTooLargeException(
                    $"'{model.Root.Name}' has {(steps == long.MaxValue ? "more than 9.2e18" : steps.ToString(System.Globalization.CultureInfo.InvariantCulture))} blocks to walk through its sublayers {(pass.Training ? " (a stack counts once)" : ", one per instance in inference")}; the memory model walks at most {MaxSteps}");
            var root = model.Root;
            var precision = root.Precision ?? DType.Float32;
            var rootSteps = walk.Layer(root, precision, root.Name, 1);
            walk.Steps.AddRange(root.Checkpoint == CheckpointMode.Full && pass.Training ? new List<Step> { walk.Collapse(rootSteps, root.Name) } : rootSteps);
            walk.Logits = Heads.Logits(root, precision, pass);
            return walk;
        }

        /// <summary>
        /// Steps the walk creates for one instance of <paramref name="layer"/>, computed once per layer type (memoized in
        /// <paramref name="known"/>), so counting costs time linear in the number of distinct layers. A stack counts its layer's
        /// steps once plus its runs (at most four: a period, the plain instances inside it, and a shorter last period), whatever its
        /// count; <paramref name="perInstance"/> (inference) counts every instance. Saturates at <see cref="long.MaxValue"/> instead of overflowing.
        /// </summary>
        private long CountSteps(LayerSpec layer, Dictionary<string, long> known, HashSet<string> visiting, bool perInstance)
        {
            if (known.TryGetValue(layer.FullName, out var cached))
                return cached;
            if (!visiting.Add(layer.FullName))
                throw new ArgumentException($"Layer '{layer.Name}' contains itself; a model must be a finite tree of layers.");
            long total = 0;
            foreach (var block in layer.Blocks)
            {
                var (type, runs, repeats) = block switch
                {
                    LayerRefSpec r => (r.LayerType, 1L, 1L),
                    StackSpec s => (s.LayerType, 4L, Math.Max(0, s.Count.Value)),
                    _ => ((string?)null, 0L, 0L),
                };
                var child = type is null ? 0 : CountSteps(Find(type, layer.Name + "." + block.Name), known, visiting, perInstance);
                var steps = type is null ? 1 : perInstance ? SaturatingMultiply(repeats, child) : SaturatingAdd(runs, child);
                total = SaturatingAdd(total, steps);
            }
            visiting.Remove(layer.FullName);
            known[layer.FullName] = total;
            return total;
        }

        private static long SaturatingAdd(long a, long b) => b > long.MaxValue - a ? long.MaxValue : a + b;

        private static long SaturatingMultiply(long a, long b) => a == 0 || b == 0 ? 0 : a > long.MaxValue / b ? long.MaxValue : a * b;

        /// <summary>The steps of one instance of <paramref name="layer"/>, adding its totals <paramref name="count"/> times.</summary>
        private List<Step> Layer(LayerSpec layer, DType precision, string path, long count)
        {
            if (!_visiting.Add(layer.FullName))
                throw new ArgumentException($"Layer '{layer.Name}' contains itself (through '{path}'); a model must be a finite tree of layers.");
            var steps = new List<Step>();
            var saved = new List<SavedTensor>();
            long ownWeights = 0;
            var sharded = _pass.Ranks > 1 && layer.Blocks.Any(b => b.Shard != ShardStyle.None);
            var selective = layer.Checkpoint == CheckpointMode.Selective;
            var outerLora = _lora;
            _lora = layer.Lora ?? _lora; // the nearest [LoRA] wins
            foreach (var entry in ForwardSteps.Order(layer)) // the analyzed Forward body's order, else declaration order
            {
                var shareReplicated = sharded && _sequenceParallel;
                if (entry.Op is { } op)
                {
                    steps.Add(ForwardSteps.OpStep(op, path, layer.Compute ?? precision, _pass, shareReplicated, saved)); // ops run at the compute dtype
                    continue;
                }
                var i = entry.Block;
                var block = layer.Blocks[i];
                var dtype = block.Precision ?? precision;
                var blockPath = path + "." + block.Name;
                if (entry.Repeat)
                {
                    steps.Add(ForwardSteps.RepeatStep(block, Sizes.Of(dtype), blockPath, _pass, Widths.DropoutWidth(layer, i, _layers), selective, shareReplicated, saved, layer.Compute, entry.Times));
                    continue;
                }
                switch (block)
                {
                    case LayerRefSpec reference:
                        steps.AddRange(Child(Find(reference.LayerType, blockPath), dtype, blockPath, count, 1, 0));
                        break;
                    case StackSpec stack:
                        if (stack.Count.Value < 0)
                            throw new ArgumentException($"Stack '{blockPath}' has a negative count ({stack.Count.Value}).");
                        steps.AddRange(Child(Find(stack.LayerType, blockPath), dtype, blockPath, count, stack.Count.Value, stack.CheckpointEvery));
                        break;
                    default:
                        var step = Block(layer, i, block, dtype, blockPath, count, sharded, selective, saved);
                        ownWeights += step.Weights;
                        steps.Add(step);
                        break;
                }
            }
            AddLayerMemory(path, layer.Name, count, ownWeights, saved);
            _lora = outerLora;
            _visiting.Remove(layer.FullName);
            return steps;
        }

        private List<Step> Child(LayerSpec child, DType inherited, string path, long count, long repeats, int every)
        {
            var precision = child.Precision ?? inherited;
            var inner = Sublayer(child, precision, path, count * repeats);
            var input = ForwardInputs.KeptBytes(child, precision, _pass, Widths.LayerInputBytes(child, precision, _pass, _layers));
            if (_sequenceParallel && _pass.Ranks > 1 && child.Blocks.Any(b => b.Shard != ShardStyle.None))
                input = Sizes.Share(input, _pass.Ranks);

            // Instances are identical, so they become runs (Step.Body × Count) instead of one step each: instance i is checkpointed
            // when i % every == 0 (a stack's every-k), or every instance when the layer is [Checkpoint] and every is 0.
            Step Checkpointed()
            {
                var collapsed = Collapse(inner, path);
                collapsed.Kept = input;
                collapsed.Input = input;
                collapsed.ReturnedGradients = collapsed.Gradients + input;
                return collapsed;
            }
            var result = new List<Step>();
            long checkpointedCount;
            if (!_pass.Training)
            {
                // Inference keeps one step per instance, each at its own path: what the dispose scopes hold depends on the
                // instance's place (ScopeRetention). Run limits this to MaxSteps instances.
                checkpointedCount = 0;
                for (var i = 0L; i < repeats; i++)
                {
                    var instancePath = repeats == 1 && every == 0 ? path : $"{path}[{i}]";
                    foreach (var step in inner)
                    {
                        StepsCreated++;
                        result.Add(step.Clone(instancePath + step.Path.Substring(path.Length)));
                    }
                }
            }
            else if (every == 0 && child.Checkpoint != CheckpointMode.Full)
            {
                checkpointedCount = 0;
                result.AddRange(Repeat(inner, repeats, path));
            }
            else if (every == 0)
            {
                checkpointedCount = repeats;
                result.AddRange(Repeat(new List<Step> { Checkpointed() }, repeats, path));
            }
            else
            {
                // One period is a checkpointed instance and every - 1 plain ones; the rest of the division is one shorter period.
                var period = new List<Step> { Checkpointed() };
                period.AddRange(Repeat(inner, every - 1, path));
                var periods = repeats / every;
                var rest = repeats % every;
                result.AddRange(Repeat(period, periods, path));
                if (rest > 0)
                {
                    result.Add(Checkpointed());
                    result.AddRange(Repeat(inner, rest - 1, path));
                }
                checkpointedCount = periods + (rest > 0 ? 1 : 0);
            }
            AddCheckpointed(path, checkpointedCount, count);
            return result;
        }

        /// <summary><paramref name="body"/> <paramref name="times"/> times back to back: nothing, the body itself, or one run.</summary>
        private List<Step> Repeat(List<Step> body, long times, string path)
        {
            if (times <= 0 || body.Count == 0)
                return new List<Step>();
            if (times == 1)
                return body;
            StepsCreated++;
            return new List<Step> { new() { Path = path + "[*]", Body = body, Count = times } };
        }

        /// <summary>A fully checkpointed instance: keeps its input; its backward recomputes what its blocks would have kept.</summary>
        private Step Collapse(List<Step> inner, string path)
        {
            StepsCreated++;
            var input = Step.First(inner)?.Input ?? 0;
            var gradients = Step.Sum(inner, s => s.Gradients);
            return new Step
            {
                ReturnedGradients = gradients + input,
                Path = path,
                Weights = Step.Sum(inner, s => s.Weights),
                Gradients = gradients,
                Kept = input,
                Recompute = Step.Sum(inner, s => s.Kept) + Step.Max(inner, s => s.Recompute),
                Temporary = Step.Max(inner, s => s.Temporary),
                Input = input,
            };
        }

        private Step Block(LayerSpec layer, int index, BlockSpec block, DType dtype, string path, long count, bool sharded, bool selective, List<SavedTensor> saved)
        {
            var d = Sizes.Of(dtype);
            StepsCreated++;
            var step = new Step { Path = path };
            foreach (var tensor in LoraTerms.Parameters(block, _lora, _loraModel, BlockParameters.Of(block, dtype, _pass.Ranks), d))
            {
                step.Weights += tensor.StoredBytes;
                ParameterCount += tensor.Elements * count;
                WeightBytes += tensor.StoredBytes * count;
                if (!tensor.Trainable)
                    continue;
                TrainableParameterCount += tensor.Elements * count;
                TrainableElements += tensor.RankElements * count;
                EightBitStateBytes += LoraTerms.EightBitStateBytes(tensor.RankElements) * count;
                step.Gradients += tensor.RankElements * tensor.ElementBytes;
                GradientBytes += tensor.RankElements * tensor.ElementBytes * count;
                if (tensor.ElementBytes < Sizes.Fp32)
                    SixteenBitTrainableElements += tensor.RankElements * count;
            }
            if (block is AttentionSpec attention)
            {
                var headDim = attention.Hidden.Value / attention.Heads.Value;
                var kvHeads = Sizes.Share(attention.KvHeads.Value, block.Shard == ShardStyle.None ? 1 : _pass.Ranks);
                if (attention.Causal) // only causal (decoder) attention keeps a KV cache
                    KvCacheBytes += KvCacheSize.Bytes(count, _pass.Batch, kvHeads, headDim, _pass.Keys, d, int8: false); // what KvCache allocates
                if (attention.Rotary)
                    WeightBytes += 2 * _pass.Keys * headDim * Sizes.Fp32 * count; // RotaryEmbedding caches fp32 cos and sin tables
            }

            step.PrefillTile = PrefillTile.Bytes(block, dtype, _pass);
            var width = Widths.DropoutWidth(layer, index, _layers);
            foreach (var created in LoraTerms.Forward(block, _lora, _loraModel, d, _pass, AutocastForward.Of(block, layer.Compute, d, _pass, width, selective, Heads.Pooled(layer, index))))
            {
                if (step.PrefillTile > 0 && created.Name == QuantizedProjections.DequantizedWeight)
                    continue; // the tile is the dequantized weight, held for the pass (Phases.Inference)
                var bytes = created.Replicated && sharded && _sequenceParallel ? Sizes.Share(created.Bytes, _pass.Ranks) : created.Bytes;
                if (created.Saved)
                {
                    step.Kept += bytes;
                    saved.Add(new SavedTensor(block.Name, created.Name, bytes));
                }
                else if (created.ReturnedByCheckpoint)
                {
                    step.ReturnedGradients += bytes;
                }
                else if (created.Recomputed)
                {
                    step.Recompute += bytes;
                }
                else
                {
                    step.Temporary += bytes;
                }
            }
            step.Input = Widths.BlockInputBytes(block, d, _pass, _layers);
            return step;
        }

        private LayerSpec Find(string type, string path) =>
            _layers.TryGetValue(type, out var layer)
                ? layer
                : throw new ArgumentException($"'{path}' uses layer '{type}', which is not among the model's layers.");

        private void AddLayerMemory(string path, string type, long count, long weights, List<SavedTensor> saved)
        {
            if (Recording)
                Record(new LayerEntry(path, type, count, weights, saved, 0));
            if (Layers.TryGetValue(path, out var existing))
            {
                Layers[path] = existing with { Count = existing.Count + count };
                return;
            }
            var savedBytes = 0L;
            foreach (var tensor in saved)
                savedBytes += tensor.Bytes;
            Layers[path] = new LayerMemory(path, type, count, weights, savedBytes, 0, saved);
        }

        private void AddCheckpointed(string path, long checkpointedCount, long count)
        {
            if (Recording)
                Record(new LayerEntry(path, null, checkpointedCount, 0, null, count));
            if (Layers.TryGetValue(path, out var memory))
                Layers[path] = memory with { CheckpointedCount = memory.CheckpointedCount + (checkpointedCount * count) };
        }
    }
}
