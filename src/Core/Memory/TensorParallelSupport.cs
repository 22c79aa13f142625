using System.Collections.Generic;
using System.Linq;
using ModelGen.Quantization;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// What the generated constructor builds for each block of a layer that takes tensor-parallel options, and what it refuses,
    /// in one place: the generator emits from these rules (a refusal becomes a start-up exception) and the analyzers report the
    /// same refusals at compile time (MG0208, MG0209, MG0212, MG0213), so a plan that builds is a plan the analyzers accepted (docs/tensor-parallel.md).
    /// </summary>
    public static class TensorParallelSupport
    {
        private const string ModuleOfTensors = "global::TorchSharp.torch.nn.Module<global::TorchSharp.torch.Tensor, global::TorchSharp.torch.Tensor>";

        /// <summary>
        /// True when the declared property type can hold a <c>ModelGen.Parallel</c> module, which derive only from
        /// <c>Module&lt;Tensor, Tensor&gt;</c>; an unknown type (a spec built by hand or at run time) is taken as able.
        /// </summary>
        public static bool Holds(BlockSpec block)
        {
            var type = block.PropertyType.TrimEnd('?');
            return type.Length == 0 || type == ModuleOfTensors || type == "global::TorchSharp.torch.nn.Module";
        }

        /// <summary>A head tied to a vocab-sharded embedding: with options it is that embedding's vocab-parallel head.</summary>
        public static bool IsVocabHead(BlockSpec block, LayerSpec layer) =>
            block is LinearSpec { TiedTo: { } owner } && layer.Blocks.Any(b => b.Name == owner && b is EmbeddingSpec { Shard: ShardStyle.Vocab });

        /// <summary>
        /// True when <paramref name="block"/> becomes a <c>ModelGen.Parallel</c> module whenever options are given: a
        /// sharded block of a style it supports, or a vocab-parallel head.
        /// </summary>
        public static bool IsSharded(BlockSpec block, LayerSpec layer) => IsVocabHead(block, layer) || (block, block.Shard) switch
        {
            (LinearSpec { TiedTo: null }, ShardStyle.Column or ShardStyle.Row) => true,
            (EmbeddingSpec, ShardStyle.Vocab) => true,
            (AttentionSpec, ShardStyle.Column) => true,
            (FeedForwardSpec, ShardStyle.Column) => true,
            _ => false,
        };

        /// <summary>A column-parallel Linear gathers its output unless a row-parallel Linear of the same layer takes its width.</summary>
        public static bool GathersOutput(LinearSpec linear, LayerSpec layer) =>
            linear.Shard == ShardStyle.Column && !layer.Blocks.Any(b => b is LinearSpec { Shard: ShardStyle.Row } row && row.In == linear.Out);

        /// <summary>A row-parallel Linear takes split input when a column-parallel Linear of the same layer produces its width.</summary>
        public static bool InputIsParallel(LinearSpec linear, LayerSpec layer) =>
            linear.Shard == ShardStyle.Row && layer.Blocks.Any(b => b is LinearSpec { Shard: ShardStyle.Column, TiedTo: null } column && column.Out == linear.In);

        /// <summary>Why a sharded block cannot be built at a degree above 1 (its declared type), or null.</summary>
        public static string? TypeProblem(BlockSpec block, LayerSpec layer) =>
            IsSharded(block, layer) && !Holds(block)
                ? $"it is declared as {ShortType(block.PropertyType)}, which its ModelGen.Parallel module ({ModuleName(block, layer)}) is not: declare the property as Module<Tensor, Tensor>"
                : null;

        /// <summary>Why a block of a layer that takes tensor-parallel options cannot run on sequence shards, or null.</summary>
        public static string? SequenceProblem(BlockSpec block, LayerSpec layer)
        {
            switch (block)
            {
                case LinearSpec linear when IsSharded(block, layer) && !IsVocabHead(block, layer):
                    if (linear.Shard == ShardStyle.Row && !InputIsParallel(linear, layer))
                        return $"it is row-parallel without a column-parallel Linear of Out = {linear.In.Value} in its layer, so it would split a sequence shard; pair it with one";
                    if (GathersOutput(linear, layer) && !layer.IsModel)
                        return $"it is column-parallel without a row-parallel Linear of In = {linear.Out.Value} in its layer, so it would return the whole sequence into the sequence-sharded stream (only a model's own head may); pair it with one";
                    return null;
                case RmsNormSpec or LayerNormSpec when block is LayerNormSpec { Bias: false }:
                    return "it is a LayerNorm without bias, which has no sequence-parallel form (ParallelLayerNorm has a bias)";
                case RmsNormSpec or LayerNormSpec when !Holds(block):
                    return $"it runs on sequence shards as {(block is RmsNormSpec ? "ParallelRmsNorm" : "ParallelLayerNorm")}, which a {ShortType(block.PropertyType)} property cannot hold: declare it as Module<Tensor, Tensor>";
                case DropoutSpec { P: > 0 } when !Holds(block):
                    // TorchSharp's Dropout is sealed: only a Module<Tensor, Tensor> property can hold ParallelDropout. nn.Dropout would
                    // draw the same mask (the default generator's) on every rank's different sequence shard (Korthikanti et al. 2022, §4.2.2).
                    return $"it draws its mask on sequence shards from each rank's own stream as ParallelDropout, which a {ShortType(block.PropertyType)} property cannot hold (nn.Dropout would repeat one mask on every rank's shard): declare it as Module<Tensor, Tensor>";
                case LinearSpec or EmbeddingSpec or AttentionSpec or FeedForwardSpec when !IsSharded(block, layer):
                    return block is AttentionSpec
                        ? "it is not sharded, so it would attend over this rank's sequence shard only; shard it with [Shard(ShardStyle.Column)]"
                        : "it is not sharded, so it would run on this rank's sequence shard and its weight would get only that shard's gradient; shard it with [Shard]";
                case CrossAttentionSpec or RelativeAttentionSpec: // docs/encoder-decoder.md: no tensor-parallel form
                    return "it has no tensor-parallel form, so on sequence shards it would attend over this rank's shard only; keep it in a layer without [Shard] blocks";
                case LayerRefSpec or StackSpec when !layer.ShardedLayers.Contains(block.Name):
                    return $"its layer ({ShortType(block is LayerRefSpec r ? r.LayerType : ((StackSpec)block).LayerType)}) has no [Shard] block, so it is not given the tensor-parallel options and would run whole on sequence shards; shard its blocks";
                default:
                    return null;
            }
        }

        /// <summary>
        /// Why a sharded, quantized block cannot quantize its row-parallel slice at <paramref name="degree"/>, or null: a row-parallel
        /// projection (a row-parallel Linear, an Attention's <c>o_proj</c>, a FeedForward's <c>down_proj</c>) holds <c>in/t</c> input
        /// columns per rank, and int4 groups and NF4 blocks run along the input features, so the group must divide <c>in/t</c>
        /// (QuantLayout.ResolveGroupSize). Int8 has one scale per row and fits any slice. A degree that does not divide the features at
        /// all is MG0201's, not this.
        /// </summary>
        public static string? QuantizedSliceProblem(BlockSpec block, LayerSpec layer, int degree)
        {
            if (degree <= 1 || block.Quant is not { Kind: QuantKind.Int4 or QuantKind.NF4 } quant || !IsSharded(block, layer) || IsVocabHead(block, layer))
                return null;
            var group = quant.GroupSize > 0 ? quant.GroupSize : quant.Kind == QuantKind.Int4 ? QuantLayout.Int4DefaultGroupSize : QuantLayout.NF4DefaultBlockSize;
            var (projection, features) = block switch
            {
                LinearSpec { Shard: ShardStyle.Row } linear => ("its weight", linear.In.Value),
                AttentionSpec attention => ("o_proj", attention.Heads.Value * (attention.Hidden.Value / attention.Heads.Value)),
                FeedForwardSpec feedForward => ("down_proj", feedForward.Inner.Value),
                _ => ("", 0L),
            };
            if (features <= 0 || features % degree != 0 || features / degree % group == 0)
                return null;
            return $"{projection} is row-parallel, so each rank quantizes {features / degree} of its {features} input features, which {quant.Kind} groups of {group} do not divide; " +
                "use a degree that leaves whole groups on each rank, or a smaller GroupSize";
        }

        /// <summary>
        /// Why a sharded block cannot carry the model's LoRA adapters at <paramref name="degree"/>, or null: LoRA attaches to
        /// TorchSharp's <c>Linear</c> and <c>QuantizedLinear</c>, not to the column- and row-parallel projections a sharded block is built
        /// from, so a <c>[LoRA]</c> target among a sharded block's projections would find no layer to adapt (the runtime refuses it at
        /// start-up). Conservative: any <c>[LoRA]</c> of the model whose targets name one of the block's projections.
        /// </summary>
        public static string? AdaptedSliceProblem(ModelSpec model, BlockSpec block, LayerSpec layer, int degree)
        {
            if (degree <= 1 || !IsSharded(block, layer) || block is EmbeddingSpec)
                return null;
            foreach (var scope in new[] { model.Root }.Concat(model.Layers))
            {
                if (scope.Lora is not { } lora)
                    continue;
                foreach (var projection in LoraTerms.Projections(block))
                    foreach (var target in lora.Targets)
                        if (target == projection.Name)
                            return $"[LoRA] on '{scope.Name}' targets {projection.Name}, which is a tensor-parallel slice here, and LoRA adapters attach only to whole " +
                                "Linear or QuantizedLinear layers; train the adapters at TensorParallel = 1 (QLoRA keeps a large model on one device), or leave the sharded projections out of the targets";
            }
            return null;
        }

        /// <summary>
        /// Every refusal of the generated constructor for <paramref name="scenario"/>: (layer, block, reason, refusal kind). Empty at degree 1.
        /// </summary>
        public static IEnumerable<(LayerSpec Layer, BlockSpec Block, string Reason, TensorParallelRefusal Refusal)> Problems(ModelSpec model, ScenarioSpec scenario)
        {
            if (scenario.TensorParallel <= 1)
                yield break;
            foreach (var layer in new[] { model.Root }.Concat(model.Layers))
            {
                foreach (var block in layer.Blocks)
                {
                    if (TypeProblem(block, layer) is { } type)
                        yield return (layer, block, type, TensorParallelRefusal.DeclaredType);
                    else if (QuantizedSliceProblem(block, layer, scenario.TensorParallel) is { } slice)
                        yield return (layer, block, slice, TensorParallelRefusal.QuantizedSlice);
                    else if (AdaptedSliceProblem(model, block, layer, scenario.TensorParallel) is { } adapted)
                        yield return (layer, block, adapted, TensorParallelRefusal.AdaptedSlice);
                    else if (scenario.SequenceParallel && layer.TakesTensorParallel && SequenceProblem(block, layer) is { } sequence)
                        yield return (layer, block, sequence, TensorParallelRefusal.SequenceShards);
                }
            }
        }

        /// <summary>True when some block is sharded and the generated constructor builds every sharded block at any degree.</summary>
        public static bool Splits(ModelSpec model) =>
            RuntimeSupport.GeneratedTensorParallel
            && new[] { model.Root }.Concat(model.Layers).Any(l => l.Blocks.Any(b => b.Shard != ShardStyle.None))
            && new[] { model.Root }.Concat(model.Layers).All(l => l.Blocks.All(b => TypeProblem(b, l) is null));

        private static string ModuleName(BlockSpec block, LayerSpec layer) => block switch
        {
            _ when IsVocabHead(block, layer) => "VocabParallelHead",
            LinearSpec { Quant: not null } => "QuantizedParallelLinear",
            LinearSpec { Shard: ShardStyle.Column } => "ColumnParallelLinear",
            LinearSpec => "RowParallelLinear",
            EmbeddingSpec => "VocabParallelEmbedding",
            AttentionSpec => "TensorParallelAttention",
            _ => "TensorParallelFeedForward",
        };

        /// <summary><c>global::TorchSharp.Modules.Linear</c> → <c>Linear</c>.</summary>
        public static string ShortType(string type)
        {
            var name = type.TrimEnd('?');
            var generic = name.IndexOf('<');
            var head = generic < 0 ? name : name.Substring(0, generic);
            return head.Substring(head.LastIndexOf('.') + 1);
        }
    }

    /// <summary>Why the generated tensor-parallel constructor refuses a block (the diagnostic that reports it).</summary>
    public enum TensorParallelRefusal
    {
        /// <summary>The property's declared type cannot hold the tensor-parallel module (MG0208).</summary>
        DeclaredType,
        /// <summary>The block cannot run on sequence shards (MG0209).</summary>
        SequenceShards,
        /// <summary>A quantized row-parallel slice leaves partial quantization groups on a rank (MG0212).</summary>
        QuantizedSlice,
        /// <summary>A <c>[LoRA]</c> target is one of a sharded block's tensor-parallel projections (MG0213).</summary>
        AdaptedSlice,
    }
}
