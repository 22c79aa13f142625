using System;
using System.Linq;
using ModelGen.Memory;
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

        /// <summary>True when the declared property type can hold the ModelGen.Parallel module.</summary>
        public static bool Holds(BlockSpec block) => TensorParallelSupport.Holds(block);

        /// <summary>A tied head whose owner is vocab-sharded: with options it becomes a <c>VocabParallelHead</c> over the owner, built last.</summary>
        public static bool IsVocabHead(BlockSpec block, LayerSpec spec) => TensorParallelSupport.IsVocabHead(block, spec);

        /// <summary>The expression creating <paramref name="block"/> in a layer that takes tensor-parallel options.</summary>
        public static string Create(BlockSpec block, string dtype, LayerSpec spec, Func<BlockSpec, string> field)
        {
            var plain = block switch
            {
                LayerRefSpec r when spec.ShardedLayers.Contains(r.Name) =>
                    $"new {r.LayerType}(config, {dtype}, {BlockEmitter.Device}, {Options}, {Path} + {Literals.String(r.StateName + ".")})",
                _ => BlockEmitter.Create(block, dtype, spec.Compute), // mixed precision: an unsharded Linear is an AutocastLinear
            };
            var what = $"'{spec.Name}.{block.Name}'";
            var created = plain;
            if (TensorParallelSupport.IsSharded(block, spec))
            {
                created = TensorParallelSupport.TypeProblem(block, spec) is { } problem
                    ? Refused(plain, $"{Options} is {{ Degree: > 1 }}", $"{what} is sharded, but {problem}")
                    : $"{Options} is not null\n    ? {Sharded(block, dtype, spec, field)}\n    : {plain}";
            }
            else if (block is RmsNormSpec or LayerNormSpec && TensorParallelSupport.SequenceProblem(block, spec) is null)
            {
                // Norms on sequence shards sum their weight gradients over the group (Korthikanti et al. 2022, §4.2.2).
                created = $"{SequenceParallel}\n    ? {Sharded(block, dtype, spec, field)}\n    : {plain}";
            }
            else if (block is DropoutSpec dropout && Holds(block))
            {
                // Sequence shards differ per rank: each rank draws its mask from its own stream (TensorParallelRng). A property
                // declared as TorchSharp's Dropout cannot hold the module: the constructor refuses it there (MG0209 at compile time).
                created = $"{SequenceParallel}\n    ? new {Parallel}ParallelDropout({Literals.Number(dropout.P)}, {Options})\n    : {plain}";
            }
            return TensorParallelSupport.SequenceProblem(block, spec) is { } sequence
                ? Refused(created, SequenceParallel, $"{what} cannot run with sequence parallelism: {sequence}; or plan SequenceParallel = false")
                : created;
        }

        private static string Sharded(BlockSpec block, string dtype, LayerSpec spec, Func<BlockSpec, string> field)
        {
            var scalar = $"global::ModelGen.Precision.ToScalarType({dtype})";
            var name = $"{Path} + {Literals.String(block.StateName)}";
            var device = BlockEmitter.Device;
            if (TensorParallelSupport.IsVocabHead(block, spec))
                return $"new {Parallel}VocabParallelHead(({Parallel}VocabParallelEmbedding)(object){field(spec.Blocks.First(b => b.Name == block.TiedTo))}, gatherOutput: {Gather(block, spec)})";
            switch (block)
            {
                case LinearSpec { Quant: { } q } l:
                    return $"new {Parallel}QuantizedParallelLinear({BlockEmitter.Size(l.In)}, {BlockEmitter.Size(l.Out)}, {Parallel}ParallelLinearStyle.{l.Shard}, {Options}, {name}, {Literals.Bool(l.Bias)}, {Literals.Enum(q.Kind)}, groupSize: {q.GroupSize}, doubleQuant: {Literals.Bool(q.DoubleQuant)}, computeDtype: {scalar}, gatherOutput: {Gather(l, spec)}, device: {device})";
                case LinearSpec { Shard: ShardStyle.Column } l:
                    return $"new {Parallel}ColumnParallelLinear({BlockEmitter.Size(l.In)}, {BlockEmitter.Size(l.Out)}, {Options}, {name}, hasBias: {Literals.Bool(l.Bias)}, gatherOutput: {Gather(l, spec)}, dtype: {scalar}, device: {device})";
                case LinearSpec l:
                    return $"new {Parallel}RowParallelLinear({BlockEmitter.Size(l.In)}, {BlockEmitter.Size(l.Out)}, {Options}, {name}, hasBias: {Literals.Bool(l.Bias)}, inputIsParallel: {Literals.Bool(TensorParallelSupport.InputIsParallel(l, spec))}, dtype: {scalar}, device: {device})";
                case EmbeddingSpec e:
                    return $"new {Parallel}VocabParallelEmbedding({BlockEmitter.Size(e.Count)}, {BlockEmitter.Size(e.Width)}, {Options}, {name}, {scalar}, {device})";
                case AttentionSpec a:
                    return $"new {Parallel}TensorParallelAttention({BlockEmitter.Size(a.Hidden)}, {BlockEmitter.Size(a.Heads)}, {BlockEmitter.Size(a.KvHeads)}, {Options}, {name}, causal: {Literals.Bool(a.Causal)}, rotary: {Literals.Bool(a.Rotary)}, ropeTheta: {Literals.Number(a.RopeTheta)}, bias: {Literals.Bool(a.Bias)}, dropout: {Literals.Number(a.DropoutP)}, dtype: {scalar}, device: {device}, fused: {Literals.Bool(a.Fused)}{Quantize(a.Quant)})"
                        + (a.SlidingWindow is { } window ? $" {{ SlidingWindow = {Literals.Long(window)} }}" : "");
                case FeedForwardSpec f:
                    return $"new {Parallel}TensorParallelFeedForward({BlockEmitter.Size(f.Hidden)}, {BlockEmitter.Size(f.Inner)}, {Literals.Enum(f.Activation)}, {Options}, {name}, bias: {Literals.Bool(f.Bias)}, dtype: {scalar}, device: {device}{Quantize(f.Quant)})";
                case RmsNormSpec n:
                    return $"new {Parallel}ParallelRmsNorm({BlockEmitter.Size(n.Hidden)}, {Options}, eps: {Literals.Number(n.Eps)}, dtype: {scalar}, device: {device})";
                case LayerNormSpec n:
                    return $"new {Parallel}ParallelLayerNorm({BlockEmitter.Size(n.Hidden)}, {Options}, eps: {Literals.Number(n.Eps)}, dtype: {scalar}, device: {device})";
                default:
                    throw new ArgumentOutOfRangeException(nameof(block), block.GetType().Name);
            }
        }

        /// <summary>The statement that refuses a stack of layers without [Shard] blocks under sequence parallelism.</summary>
        public static string UnshardedStack(LayerSpec spec, StackSpec stack) =>
            $"if ({SequenceParallel}) throw new global::System.NotSupportedException({Literals.String($"'{spec.Name}.{stack.Name}' cannot run with sequence parallelism: {TensorParallelSupport.SequenceProblem(stack, spec)}; or plan SequenceParallel = false (docs/tensor-parallel.md).")});";

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

        /// <summary><c>[Checkpoint(CheckpointMode.Selective)]</c> on an attention block declared as a module: plain or tensor-parallel, its core is recomputed.</summary>
        public static string SelectiveCore(string field) =>
            $"{Parallel}TensorParallelAttention.CheckpointCoreOf({field}); // [Checkpoint(CheckpointMode.Selective)]";

        // A model's own gathered head keeps its V/t logits when the options ask for the vocab-parallel loss.
        private static string Gather(BlockSpec block, LayerSpec spec) =>
            TensorParallelSupport.IsVocabHead(block, spec) || (spec.IsModel && block is LinearSpec l && TensorParallelSupport.GathersOutput(l, spec))
                ? $"!{Options}.VocabParallelLogits"
                : Literals.Bool(block is LinearSpec linear && TensorParallelSupport.GathersOutput(linear, spec));

        // [Shard] + [Quantize] on an Attention or FeedForward block: each rank quantizes only its slices of the projections.
        private static string Quantize(QuantSpec? q) => q is null
            ? ""
            : $", quantize: new global::ModelGen.Quantization.ProjectionQuantization({Literals.Enum(q.Kind)}, {q.GroupSize}, {Literals.Bool(q.DoubleQuant)})";

        private static string Refused(string plain, string condition, string message) =>
            $"{condition}\n    ? throw new global::System.NotSupportedException({Literals.String(message + " (docs/tensor-parallel.md).")})\n    : {plain}";
    }
}
