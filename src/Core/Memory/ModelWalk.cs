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
    internal sealed class ModelWalk
    {
        private readonly Dictionary<string, LayerSpec> _layers;
        private readonly Pass _pass;
        private readonly bool _sequenceParallel;
        private readonly HashSet<string> _visiting = new();
        private readonly bool _loraModel;
        private LoraSpec? _lora;

        private ModelWalk(ModelSpec model, Pass pass, bool sequenceParallel)
        {
            _layers = new Dictionary<string, LayerSpec>();
            foreach (var layer in model.Layers)
                _layers[layer.FullName] = layer;
            _pass = pass;
            _sequenceParallel = sequenceParallel;
            _loraModel = model.Root.Lora is not null || model.Layers.Any(l => l.Lora is not null);
        }

        public List<Step> Steps { get; } = new();

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
        /// The most block instances (steps) a walk visits one by one. Llama 3 70B has about 800; a model past this limit is
        /// reported (MG0006) before any step is created, instead of exhausting the compiler's memory.
        /// </summary>
        public const long MaxSteps = 200_000;

        /// <summary>Walks <paramref name="model"/> for <paramref name="pass"/>.</summary>
        /// <exception cref="ArgumentException">A referenced layer is missing, layers recurse, or a size is not positive.</exception>
        /// <exception cref="ModelTooLargeException">More than <see cref="MaxSteps"/> block instances, or a term overflows 64 bits.</exception>
        public static ModelWalk Run(ModelSpec model, Pass pass, bool sequenceParallel)
        {
            var walk = new ModelWalk(model, pass, sequenceParallel);
            var instances = walk.CountSteps(model.Root, new Dictionary<string, long>(), new HashSet<string>());
            if (instances > MaxSteps)
                throw new ModelTooLargeException(
                    $"'{model.Root.Name}' has {(instances == long.MaxValue ? "more than 9.2e18" : instances.ToString(System.Globalization.CultureInfo.InvariantCulture))} block instances through its stacks and sublayers; the memory model walks at most {MaxSteps}");
            var root = model.Root;
            var precision = root.Precision ?? DType.Float32;
            var steps = walk.Layer(root, precision, root.Name, 1);
            walk.Steps.AddRange(root.Checkpoint == CheckpointMode.Full && pass.Training ? new[] { Collapse(steps, root.Name) } : steps);
            walk.Logits = Heads.Logits(root, precision, pass);
            return walk;
        }

        /// <summary>
        /// Steps one instance of <paramref name="layer"/> contributes, computed once per layer type (memoized in
        /// <paramref name="known"/>), so a diamond or a deep chain of layers costs time linear in the number of distinct layers.
        /// Saturates at <see cref="long.MaxValue"/> instead of overflowing.
        /// </summary>
        private long CountSteps(LayerSpec layer, Dictionary<string, long> known, HashSet<string> visiting)
        {
            if (known.TryGetValue(layer.FullName, out var cached))
                return cached;
            if (!visiting.Add(layer.FullName))
                throw new ArgumentException($"Layer '{layer.Name}' contains itself; a model must be a finite tree of layers.");
            long total = 0;
            foreach (var block in layer.Blocks)
            {
                var (type, repeats) = block switch
                {
                    LayerRefSpec r => (r.LayerType, 1L),
                    StackSpec s => (s.LayerType, Math.Max(0, s.Count.Value)),
                    _ => ((string?)null, 0L),
                };
                var steps = type is null ? 1 : SaturatingMultiply(repeats, CountSteps(Find(type, layer.Name + "." + block.Name), known, visiting));
                total = steps > long.MaxValue - total ? long.MaxValue : total + steps;
            }
            visiting.Remove(layer.FullName);
            known[layer.FullName] = total;
            return total;
        }

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
            for (var i = 0; i < layer.Blocks.Count; i++)
            {
                var block = layer.Blocks[i];
                var dtype = block.Precision ?? precision;
                var blockPath = path + "." + block.Name;
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

        private IEnumerable<Step> Child(LayerSpec child, DType inherited, string path, long count, long repeats, int every)
        {
            var precision = child.Precision ?? inherited;
            var inner = Layer(child, precision, path, count * repeats);
            var input = ForwardInputs.KeptBytes(child, precision, _pass, Widths.LayerInputBytes(child, precision, _pass, _layers));
            if (_sequenceParallel && _pass.Ranks > 1 && child.Blocks.Any(b => b.Shard != ShardStyle.None))
                input = Sizes.Share(input, _pass.Ranks);
            var checkpointedCount = 0L;
            var result = new List<Step>();
            for (var i = 0L; i < repeats; i++)
            {
                var checkpointed = _pass.Training && (every > 0 ? i % every == 0 : child.Checkpoint == CheckpointMode.Full);
                var instancePath = repeats == 1 && every == 0 ? path : $"{path}[{i}]";
                if (checkpointed)
                {
                    checkpointedCount++;
                    var collapsed = Collapse(inner, instancePath);
                    collapsed.Kept = input;
                    collapsed.Input = input;
                    collapsed.ReturnedGradients = collapsed.Gradients + input;
                    result.Add(collapsed);
                }
                else
                {
                    result.AddRange(inner.Select(s => s.Clone(instancePath + s.Path.Substring(path.Length))));
                }
            }
            if (Layers.TryGetValue(path, out var memory))
                Layers[path] = memory with { CheckpointedCount = memory.CheckpointedCount + (checkpointedCount * count) };
            return result;
        }

        /// <summary>A fully checkpointed instance: keeps its input; its backward recomputes what its blocks would have kept.</summary>
        private static Step Collapse(List<Step> inner, string path) => new()
        {
            ReturnedGradients = inner.Sum(s => s.Gradients) + (inner.Count > 0 ? inner[0].Input : 0),
            Path = path,
            Weights = inner.Sum(s => s.Weights),
            Gradients = inner.Sum(s => s.Gradients),
            Kept = inner.Count > 0 ? inner[0].Input : 0,
            Recompute = inner.Sum(s => s.Kept) + (inner.Count > 0 ? inner.Max(s => s.Recompute) : 0),
            Temporary = inner.Count > 0 ? inner.Max(s => s.Temporary) : 0,
            Input = inner.Count > 0 ? inner[0].Input : 0,
        };

        private Step Block(LayerSpec layer, int index, BlockSpec block, DType dtype, string path, long count, bool sharded, bool selective, List<SavedTensor> saved)
        {
            var d = Sizes.Of(dtype);
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

            var width = Widths.DropoutWidth(layer, index, _layers);
            foreach (var created in LoraTerms.Forward(block, _lora, _loraModel, d, _pass, BlockForward.Of(block, d, _pass, width, selective, Heads.Pooled(layer, index))))
            {
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
            if (Layers.TryGetValue(path, out var existing))
            {
                Layers[path] = existing with { Count = existing.Count + count };
                return;
            }
            Layers[path] = new LayerMemory(path, type, count, weights, saved.Sum(s => s.Bytes), 0, saved);
        }
    }
}
