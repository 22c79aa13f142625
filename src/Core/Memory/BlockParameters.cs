using System.Collections.Generic;
using ModelGen.Specs;
using ModelGen.Quantization;

namespace ModelGen.Memory
{
    /// <summary>One parameter tensor of a block, as one tensor-parallel rank stores it.</summary>
    /// <param name="Name">State-dict-like name, e.g. <c>q_proj.weight</c>.</param>
    /// <param name="Elements">Elements of the whole (unsharded) tensor: what parameter counts add up.</param>
    /// <param name="RankElements">Elements one rank holds.</param>
    /// <param name="StoredBytes">Bytes one rank stores (quantized: codes, scales, zero points).</param>
    /// <param name="ElementBytes">Bytes per element of the tensor's dtype (gradients use it).</param>
    /// <param name="Trainable">Receives a gradient (not frozen, not quantized).</param>
    /// <param name="DequantizedBytes">For a quantized weight, the bytes of the dense weight rebuilt at each use; else 0.</param>
    /// <remarks>A class, not a struct: lists of it over a struct would be compiled just in time in every compiler process.</remarks>
    internal sealed record ParameterTensor(string Name, long Elements, long RankElements, long StoredBytes, int ElementBytes, bool Trainable, long DequantizedBytes);

    /// <summary>
    /// The parameters each block kind registers, mirroring the modules the generator creates: TorchSharp <c>Linear</c>,
    /// <c>Embedding</c>, <c>LayerNorm</c>; ModelGen's <c>RmsNorm</c>, <c>Attention</c> (q/k/v/o projections),
    /// <c>FeedForward</c> (gate/up/down), <c>Pooler</c> (dense) and <c>QuantizedLinear</c>.
    /// </summary>
    internal static class BlockParameters
    {
        /// <summary>
        /// The tensors of <paramref name="block"/> stored in <paramref name="dtype"/> on one of <paramref name="ranks"/>
        /// tensor-parallel ranks. A tied block contributes no weight (its owner does). Quantization applies to Linear blocks
        /// and to the projections of Attention and FeedForward blocks, as the generator emits it; on other kinds it is ignored here
        /// and reported by the analyzers.
        /// </summary>
        public static List<ParameterTensor> Of(BlockSpec block, DType dtype, int ranks)
        {
            var size = Sizes.Of(dtype);
            var trainable = !block.Frozen;
            var t = block.Shard == ShardStyle.None ? 1 : ranks;
            var list = new List<ParameterTensor>();

            void Add(string name, long rows, long columns, long rankRows, long rankColumns)
            {
                var elements = rows * columns;
                var rankElements = rankRows * rankColumns;
                if (block.Quant is { } projectionQuant && QuantizedProjections.Applies(block) && name.EndsWith(".weight", System.StringComparison.Ordinal))
                {
                    list.Add(QuantizedProjections.Weight(projectionQuant, name, rows, columns, rankRows, rankColumns, size)); // [Quantize] on Attention / FeedForward
                    return;
                }
                list.Add(new ParameterTensor(name, elements, rankElements, rankElements * size, size, trainable, 0));
            }

            switch (block)
            {
                case LinearSpec linear:
                {
                    var column = block.Shard is ShardStyle.Column or ShardStyle.Vocab;
                    var rankOut = column ? Sizes.Share(linear.Out.Value, t) : linear.Out.Value;
                    var rankIn = block.Shard == ShardStyle.Row ? Sizes.Share(linear.In.Value, t) : linear.In.Value;
                    if (block.TiedTo is null)
                    {
                        if (block.Quant is { } quant)
                        {
                            var elements = linear.In.Value * linear.Out.Value;
                            list.Add(new ParameterTensor("weight", elements, rankIn * rankOut, QuantLayout.WeightBytes(quant.Kind, quant.GroupSize, quant.DoubleQuant, rankIn, rankOut), size, false, rankIn * rankOut * size));
                        }
                        else
                        {
                            Add("weight", linear.Out.Value, linear.In.Value, rankOut, rankIn);
                        }
                    }
                    if (linear.Bias)
                        Add("bias", linear.Out.Value, 1, rankOut, 1);
                    break;
                }
                case EmbeddingSpec embedding:
                    if (block.TiedTo is null)
                    {
                        var rankCount = block.Shard is ShardStyle.Vocab or ShardStyle.Row ? Sizes.Share(embedding.Count.Value, t) : embedding.Count.Value;
                        var rankWidth = block.Shard == ShardStyle.Column ? Sizes.Share(embedding.Width.Value, t) : embedding.Width.Value;
                        Add("weight", embedding.Count.Value, embedding.Width.Value, rankCount, rankWidth);
                    }
                    break;
                case LayerNormSpec norm:
                    Add("weight", norm.Hidden.Value, 1, norm.Hidden.Value, 1);
                    if (norm.Bias)
                        Add("bias", norm.Hidden.Value, 1, norm.Hidden.Value, 1);
                    break;
                case RmsNormSpec norm:
                    Add("weight", norm.Hidden.Value, 1, norm.Hidden.Value, 1);
                    break;
                case PoolerSpec pooler:
                    Add("dense.weight", pooler.Hidden.Value, pooler.Hidden.Value, pooler.Hidden.Value, pooler.Hidden.Value);
                    Add("dense.bias", pooler.Hidden.Value, 1, pooler.Hidden.Value, 1);
                    break;
                case AttentionSpec attention:
                {
                    var hidden = attention.Hidden.Value;
                    var headDim = hidden / attention.Heads.Value;
                    var q = attention.Heads.Value * headDim;
                    var kv = attention.KvHeads.Value * headDim;
                    var rankQ = Sizes.Share(attention.Heads.Value, t) * headDim;
                    var rankKv = Sizes.Share(attention.KvHeads.Value, t) * headDim;
                    // Megatron split (Shoeybi et al. 2019, §3): q/k/v column-parallel by heads, o row-parallel; o's bias replicated.
                    Add("q_proj.weight", q, hidden, rankQ, hidden);
                    Add("k_proj.weight", kv, hidden, rankKv, hidden);
                    Add("v_proj.weight", kv, hidden, rankKv, hidden);
                    Add("o_proj.weight", hidden, q, hidden, rankQ);
                    if (attention.Bias)
                    {
                        Add("q_proj.bias", q, 1, rankQ, 1);
                        Add("k_proj.bias", kv, 1, rankKv, 1);
                        Add("v_proj.bias", kv, 1, rankKv, 1);
                        Add("o_proj.bias", hidden, 1, hidden, 1);
                    }
                    break;
                }
                case MixtureOfExpertsSpec moe:
                    MixtureOfExpertsTerms.Parameters(moe, (name, rows, columns) => Add(name, rows, columns, rows, columns)); // not sharded
                    break;
                case FeedForwardSpec feedForward:
                {
                    var hidden = feedForward.Hidden.Value;
                    var inner = feedForward.Inner.Value;
                    var rankInner = Sizes.Share(inner, t);
                    if (feedForward.Gated)
                        Add("gate_proj.weight", inner, hidden, rankInner, hidden);
                    Add("up_proj.weight", inner, hidden, rankInner, hidden);
                    Add("down_proj.weight", hidden, inner, hidden, rankInner);
                    if (feedForward.Bias)
                    {
                        if (feedForward.Gated)
                            Add("gate_proj.bias", inner, 1, rankInner, 1);
                        Add("up_proj.bias", inner, 1, rankInner, 1);
                        Add("down_proj.bias", hidden, 1, hidden, 1);
                    }
                    break;
                }
                case CrossAttentionSpec or RelativeAttentionSpec:
                    EncoderDecoderTerms.Parameters(block, Add); // EncoderDecoderTerms.cs
                    break;
            }
            return list;
        }
    }
}
