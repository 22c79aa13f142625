using System;
using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Generators.Emit
{
    /// <summary>
    /// The tensor-parallel part of a generated constructor (docs/tensor-parallel.md, "What the generator emits"). A layer that
    /// has <c>[Shard]</c> blocks, or uses one that does, takes <c>TensorParallelOptions? tensorParallel</c> and its state_dict path:
    /// without options it builds the plain modules exactly as before; with them each sharded block becomes its
    /// <c>ModelGen.Parallel</c> module, which allocates only this rank's slice, and norms run on sequence shards when the options say so.
    /// </summary>
    internal static class ShardEmitter
    {
        /// <summary>The constructor parameter holding the options.</summary>
        public const string Options = "tensorParallel";

        /// <summary>The constructor parameter holding the layer's state_dict path with a trailing dot (empty for the model).</summary>
        public const string Path = "statePath";

        private const string Parallel = "global::ModelGen.Parallel.";
        private const string SequenceParallel = Options + " is { SequenceParallel: true, Degree: > 1 }";
        private const string ModuleOfTensors = "global::TorchSharp.torch.nn.Module<global::TorchSharp.torch.Tensor, global::TorchSharp.torch.Tensor>";

        /// <summary>The extra constructor parameters of a layer that takes tensor-parallel options.</summary>
        public const string Parameters = ", " + Parallel + "TensorParallelOptions? " + Options + " = null, string " + Path + " = \"\"";

        /// <summary>The XML documentation of <see cref="Parameters"/>.</summary>
        public static readonly string[] ParameterDocs =
        {
            "/// <param name=\"tensorParallel\">Tensor-parallel group, sequence parallelism and seed: each [Shard] block then holds only this rank's slice (ModelGen.Parallel); null builds every block whole.</param>",
            "/// <param name=\"statePath\">This layer's state_dict path with a trailing dot (empty for the model); it seeds the sharded initialization.</param>",
        };

        /// <summary>
        /// True when the declared property type can hold the tensor-parallel module (they derive only from <c>Module&lt;Tensor, Tensor&gt;</c>).
        /// </summary>
        public static bool Holds(BlockSpec block)
        {
            var type = block.PropertyType.TrimEnd('?');
            return type == ModuleOfTensors || type == "global::TorchSharp.torch.nn.Module";
        }

        /// <summary>A tied head whose owner is vocab-sharded: with options it becomes a <c>VocabParallelHead</c> over the owner, built last.</summary>
        public static bool IsVocabHead(BlockSpec block, LayerSpec spec) =>
            block is LinearSpec { TiedTo: { } owner } && spec.Blocks.Any(b => b.Name == owner && b is EmbeddingSpec { Shard: ShardStyle.Vocab });

        /// <summary>The expression creating <paramref name="block"/> in a layer that takes tensor-parallel options.</summary>
        public static string Create(BlockSpec block, string dtype, LayerSpec spec, Func<BlockSpec, string> field)
        {
            var plain = block switch
            {
                LayerRefSpec r when spec.ShardedLayers.Contains(r.Name) =>
                    $"new {r.LayerType}(config, {dtype}, {BlockEmitter.Device}, {Options}, {Path} + {Literals.String(r.StateName + ".")})",
                _ => BlockEmitter.Create(block, dtype),
            };
            var scalar = $"global::ModelGen.Precision.ToScalarType({dtype})";
            var name = $"{Path} + {Literals.String(block.StateName)}";
            var what = $"'{spec.Name}.{block.Name}'";
            if (IsVocabHead(block, spec))
            {
                var owner = spec.Blocks.First(b => b.Name == block.TiedTo);
                return Guarded(block, plain, $"{Options} is not null",
                    $"new {Parallel}VocabParallelHead(({Parallel}VocabParallelEmbedding)(object){field(owner)}, gatherOutput: true)",
                    $"{what} is tied to the vocab-parallel '{owner.Name}', so it becomes VocabParallelHead");
            }
            switch (block)
            {
                case LinearSpec l when l.TiedTo is null && l.Shard is ShardStyle.Column or ShardStyle.Row:
                {
                    var column = l.Shard == ShardStyle.Column;
                    var gather = column && !spec.Blocks.Any(b => b is LinearSpec { Shard: ShardStyle.Row } r && r.In == l.Out);
                    var parallelInput = !column && spec.Blocks.Any(b => b is LinearSpec { Shard: ShardStyle.Column, TiedTo: null } c && c.Out == l.In);
                    string created;
                    if (l.Quant is { } q)
                    {
                        if (!column && !parallelInput)
                            return Refused(plain, $"{Options} is {{ Degree: > 1 }}",
                                $"{what} is a quantized row-parallel Linear whose input is not the output of a column-parallel Linear of the same layer; QuantizedParallelLinear takes its input already split");
                        created = $"new {Parallel}QuantizedParallelLinear({BlockEmitter.Size(l.In)}, {BlockEmitter.Size(l.Out)}, {Parallel}ParallelLinearStyle.{(column ? "Column" : "Row")}, {Options}, {name}, {Literals.Bool(l.Bias)}, {Literals.Enum(q.Kind)}, groupSize: {q.GroupSize}, doubleQuant: {Literals.Bool(q.DoubleQuant)}, computeDtype: {scalar}, gatherOutput: {Literals.Bool(gather)}, device: {BlockEmitter.Device})";
                    }
                    else
                    {
                        created = column
                            ? $"new {Parallel}ColumnParallelLinear({BlockEmitter.Size(l.In)}, {BlockEmitter.Size(l.Out)}, {Options}, {name}, hasBias: {Literals.Bool(l.Bias)}, gatherOutput: {Literals.Bool(gather)}, dtype: {scalar}, device: {BlockEmitter.Device})"
                            : $"new {Parallel}RowParallelLinear({BlockEmitter.Size(l.In)}, {BlockEmitter.Size(l.Out)}, {Options}, {name}, hasBias: {Literals.Bool(l.Bias)}, inputIsParallel: {Literals.Bool(parallelInput)}, dtype: {scalar}, device: {BlockEmitter.Device})";
                    }
                    var guarded = Guarded(block, plain, $"{Options} is not null", created, $"{what} is [Shard(ShardStyle.{l.Shard})]");
                    // With sequence parallelism the activations between regions are sequence shards: a row-parallel layer must
                    // take a column-parallel partner's split output, and a gathered column layer gives the whole sequence, which
                    // only a model's head may return (Korthikanti et al. 2022, §4.2.2 pairs every region's entry with its exit).
                    if (!column && !parallelInput)
                        return Refused(guarded, SequenceParallel, $"{what} is row-parallel without a column-parallel Linear of Out = {l.In.Value} in its layer, so with sequence parallelism it would split a sequence shard; pair it with one, or plan SequenceParallel = false");
                    if (gather && !spec.IsModel)
                        return Refused(guarded, SequenceParallel, $"{what} is column-parallel without a row-parallel Linear of In = {l.Out.Value} in its layer, so with sequence parallelism it would return the whole sequence into the sequence-sharded stream; pair it with one, or plan SequenceParallel = false");
                    return guarded;
                }
                case EmbeddingSpec e when e.Shard == ShardStyle.Vocab:
                    return Guarded(block, plain, $"{Options} is not null",
                        $"new {Parallel}VocabParallelEmbedding({BlockEmitter.Size(e.Count)}, {BlockEmitter.Size(e.Width)}, {Options}, {name}, {scalar}, {BlockEmitter.Device})",
                        $"{what} is [Shard(ShardStyle.Vocab)]");
                case AttentionSpec a when a.Shard == ShardStyle.Column:
                    return Guarded(block, plain, $"{Options} is not null",
                        $"new {Parallel}TensorParallelAttention({BlockEmitter.Size(a.Hidden)}, {BlockEmitter.Size(a.Heads)}, {BlockEmitter.Size(a.KvHeads)}, {Options}, {name}, causal: {Literals.Bool(a.Causal)}, rotary: {Literals.Bool(a.Rotary)}, ropeTheta: {Literals.Number(a.RopeTheta)}, bias: {Literals.Bool(a.Bias)}, dropout: {Literals.Number(a.DropoutP)}, dtype: {scalar}, device: {BlockEmitter.Device})",
                        $"{what} is [Shard(ShardStyle.Column)]");
                case FeedForwardSpec f when f.Shard == ShardStyle.Column:
                    return Guarded(block, plain, $"{Options} is not null",
                        $"new {Parallel}TensorParallelFeedForward({BlockEmitter.Size(f.Hidden)}, {BlockEmitter.Size(f.Inner)}, {Literals.Enum(f.Activation)}, {Options}, {name}, bias: {Literals.Bool(f.Bias)}, dtype: {scalar}, device: {BlockEmitter.Device})",
                        $"{what} is [Shard(ShardStyle.Column)]");
                // Norms on sequence shards sum their weight gradients over the group (Korthikanti et al. 2022, §4.2.2).
                case RmsNormSpec n:
                    return Guarded(block, plain, SequenceParallel,
                        $"new {Parallel}ParallelRmsNorm({BlockEmitter.Size(n.Hidden)}, {Options}, eps: {Literals.Number(n.Eps)}, dtype: {scalar}, device: {BlockEmitter.Device})",
                        $"{what} runs on sequence shards, so it becomes ParallelRmsNorm");
                case LayerNormSpec n when n.Bias:
                    return Guarded(block, plain, SequenceParallel,
                        $"new {Parallel}ParallelLayerNorm({BlockEmitter.Size(n.Hidden)}, {Options}, eps: {Literals.Number(n.Eps)}, dtype: {scalar}, device: {BlockEmitter.Device})",
                        $"{what} runs on sequence shards, so it becomes ParallelLayerNorm");
                case LayerNormSpec:
                    return Refused(plain, SequenceParallel,
                        $"{what} is a LayerNorm without bias, which has no sequence-parallel form (ParallelLayerNorm has a bias); plan SequenceParallel = false");
                // A replicated weight used on sequence shards would get only its shard's gradient on each rank.
                case LinearSpec or EmbeddingSpec or AttentionSpec or FeedForwardSpec:
                    return Refused(plain, SequenceParallel, $"{what} is not sharded, so with sequence parallelism it would run whole on this rank's sequence shard{(block is AttentionSpec ? " (attending over part of the sequence)" : " and its weight would get only that shard's gradient")}; shard it with [Shard], or plan SequenceParallel = false");
                case LayerRefSpec r when !spec.ShardedLayers.Contains(r.Name):
                    return Refused(plain, SequenceParallel, UnshardedLayer(spec, r.Name, r.LayerType));
                default:
                    return plain;
            }
        }

        /// <summary>The refusal of a sublayer or stack without [Shard] blocks under sequence parallelism: it is not given the options.</summary>
        public static string UnshardedLayer(LayerSpec spec, string block, string layerType) =>
            $"'{spec.Name}.{block}' ({Short(layerType)}) has no [Shard] block, so it is not given the tensor-parallel options and would run whole on sequence shards; shard its blocks, or plan SequenceParallel = false";

        /// <summary>The statement that refuses a stack of layers without [Shard] blocks under sequence parallelism.</summary>
        public static string UnshardedStack(LayerSpec spec, StackSpec stack) =>
            $"if ({SequenceParallel}) throw new global::System.NotSupportedException({Literals.String(UnshardedLayer(spec, stack.Name, stack.LayerType) + " (docs/tensor-parallel.md).")});";

        /// <summary>The stack element's creation in a layer that takes options: a sharded child gets them and its path.</summary>
        public static string StackElement(StackSpec stack, string dtype, string index) =>
            $"new {stack.LayerType}(config, {dtype}, {BlockEmitter.Device}, {Options}, {Path} + {Literals.String(stack.StateName + ".")} + {index}.ToString(global::System.Globalization.CultureInfo.InvariantCulture) + \".\")";

        /// <summary>
        /// The tie of <paramref name="block"/> to <paramref name="owner"/> in a layer that takes options: through casts, since a
        /// shardable block is declared as a module; skipped when the head is vocab-parallel (it holds the owner's slice already).
        /// </summary>
        public static void WriteTie(CodeWriter w, BlockSpec block, BlockSpec owner, LayerSpec spec, Func<BlockSpec, string> field)
        {
            var head = $"((global::TorchSharp.Modules.Linear)(object){field(block)})";
            var target = $"((global::TorchSharp.Modules.{(owner is EmbeddingSpec ? "Embedding" : "Linear")})(object){field(owner)})";
            var vocabHead = IsVocabHead(block, spec);
            if (vocabHead)
                w.Open($"if ({Options} is null)");
            w.Line($"{head}.weight = {target}.weight ?? throw new global::System.InvalidOperationException({Literals.String($"{owner.Name} has no weight to tie {block.Name} to.")});");
            w.Line($"{target}.weight = {head}.weight;");
            if (vocabHead)
                w.Close();
        }

        /// <summary><c>[Checkpoint(CheckpointMode.Selective)]</c> on an attention block declared as a module: only the plain block has the switch.</summary>
        public static string SelectiveCore(string field) =>
            $"if ({field} is global::ModelGen.Nn.Attention mgSelective) mgSelective.CheckpointCore = true; // [Checkpoint(CheckpointMode.Selective)]; TensorParallelAttention recomputes nothing itself";

        private static string Guarded(BlockSpec block, string plain, string condition, string sharded, string why) =>
            Holds(block)
                ? $"{condition}\n    ? {sharded}\n    : {plain}"
                : Refused(plain, condition.Replace(" is not null", " is { Degree: > 1 }"),
                    $"{why}, but it is declared as {Short(block.PropertyType)}, which the ModelGen.Parallel module is not: declare the property as Module<Tensor, Tensor>");

        private static string Refused(string plain, string condition, string message) =>
            $"{condition}\n    ? throw new global::System.NotSupportedException({Literals.String(message + " (docs/tensor-parallel.md).")})\n    : {plain}";

        private static string Short(string type)
        {
            var name = type.TrimEnd('?');
            var generic = name.IndexOf('<');
            var head = generic < 0 ? name : name.Substring(0, generic);
            return head.Substring(head.LastIndexOf('.') + 1);
        }
    }
}
