using TorchSharp.Modules;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>;

namespace ModelGen.Parallel.Worker
{
    /// <summary>Sizes of the generated tensor-parallel models (tiny by default; the big case uses a Llama-70B-like config).</summary>
    public sealed record TpConfig
    {
        /// <summary>Vocabulary.</summary>
        public int Vocab { get; init; } = 64;

        /// <summary>Model width.</summary>
        public int Hidden { get; init; } = 32;

        /// <summary>Query heads.</summary>
        public int Heads { get; init; } = 4;

        /// <summary>Key/value heads.</summary>
        public int KvHeads { get; init; } = 2;

        /// <summary>Feed-forward width.</summary>
        public int Ffn { get; init; } = 64;

        /// <summary>Decoder layers.</summary>
        public int Layers { get; init; } = 2;
    }

    /// <summary>A Llama decoder layer: sharded attention (GQA, rotary) and a SwiGLU MLP of three sharded Linears.</summary>
    [Layer(typeof(TpConfig))]
    public partial class TpLlamaBlock
    {
        [RmsNorm(nameof(TpConfig.Hidden))] public partial Module AttnNorm { get; }
        [Attention(nameof(TpConfig.Hidden), nameof(TpConfig.Heads), KvHeads = nameof(TpConfig.KvHeads), Rotary = true), Shard(ShardStyle.Column)] public partial Module Attn { get; }
        [RmsNorm(nameof(TpConfig.Hidden))] public partial Module MlpNorm { get; }
        [Linear(nameof(TpConfig.Hidden), nameof(TpConfig.Ffn), Bias = false), Shard(ShardStyle.Column)] public partial Module Gate { get; }
        [Linear(nameof(TpConfig.Hidden), nameof(TpConfig.Ffn), Bias = false), Shard(ShardStyle.Column)] public partial Module Up { get; }
        [Linear(nameof(TpConfig.Ffn), nameof(TpConfig.Hidden), Bias = false), Shard(ShardStyle.Row)] public partial Module Down { get; }

        private Tensor Forward(Tensor x)
        {
            x = x + Attn.call(AttnNorm.call(x));
            var h = MlpNorm.call(x);
            return x + Down.call(nn.functional.silu(Gate.call(h)) * Up.call(h));
        }
    }

    /// <summary>A tiny Llama: vocab-parallel embedding, sharded layers, column-parallel head (gathered: the output is every logit).</summary>
    [Model(typeof(TpConfig))]
    public partial class TpLlama
    {
        [Embedding(nameof(TpConfig.Vocab), nameof(TpConfig.Hidden)), Shard(ShardStyle.Vocab)] public partial Module Embed { get; }
        [Stack(nameof(TpConfig.Layers))] public partial ModuleList<TpLlamaBlock> Layers { get; }
        [RmsNorm(nameof(TpConfig.Hidden))] public partial Module Norm { get; }
        [Linear(nameof(TpConfig.Hidden), nameof(TpConfig.Vocab), Bias = false), Shard(ShardStyle.Column)] public partial Module Head { get; }

        private Tensor Forward(Tensor tokens)
        {
            var x = Embed.call(tokens);
            foreach (var layer in Layers)
                x = layer.call(x);
            return Head.call(Norm.call(x));
        }
    }

    /// <summary>A GPT-2 layer, checkpointed: LayerNorms, sharded multi-head attention with biases, sharded GELU feed-forward.</summary>
    [Layer(typeof(TpConfig)), Checkpoint]
    public partial class TpGptBlock
    {
        [LayerNorm(nameof(TpConfig.Hidden))] public partial Module Ln1 { get; }
        [Attention(nameof(TpConfig.Hidden), nameof(TpConfig.Heads), Bias = true), Shard(ShardStyle.Column)] public partial Module Attn { get; }
        [LayerNorm(nameof(TpConfig.Hidden))] public partial Module Ln2 { get; }
        [FeedForward(nameof(TpConfig.Hidden), nameof(TpConfig.Ffn), Activation = FeedForwardActivation.Gelu), Shard(ShardStyle.Column)] public partial Module Mlp { get; }

        private Tensor Forward(Tensor x)
        {
            x = x + Attn.call(Ln1.call(x));
            return x + Mlp.call(Ln2.call(x));
        }
    }

    /// <summary>A tiny GPT-2 with the head tied to the vocab-parallel embedding.</summary>
    [Model(typeof(TpConfig))]
    public partial class TpGpt
    {
        [Embedding(nameof(TpConfig.Vocab), nameof(TpConfig.Hidden)), Shard(ShardStyle.Vocab)] public partial Module Wte { get; }
        [Stack(nameof(TpConfig.Layers))] public partial ModuleList<TpGptBlock> H { get; }
        [LayerNorm(nameof(TpConfig.Hidden))] public partial Module LnF { get; }
        [Linear(nameof(TpConfig.Hidden), nameof(TpConfig.Vocab), Bias = false), TiedTo(nameof(Wte))] public partial Module LmHead { get; }

        private Tensor Forward(Tensor tokens)
        {
            var x = Wte.call(tokens);
            foreach (var block in H)
                x = block.call(x);
            return LmHead.call(LnF.call(x));
        }
    }

    /// <summary>The tiny Llama with a plan of 2 tensor-parallel ranks and sequence parallelism, trained with a loss of its own (so the plan gathers the logits): what <c>CreateTraining</c> runs.</summary>
    [Model(typeof(TpConfig))]
    [ParallelPlan(TensorParallel = 2, SequenceParallel = true, GatheredLogits = true)]
    public partial class TpPlannedLlama
    {
        [Embedding(nameof(TpConfig.Vocab), nameof(TpConfig.Hidden)), Shard(ShardStyle.Vocab)] public partial Module Embed { get; }
        [Stack(nameof(TpConfig.Layers))] public partial ModuleList<TpLlamaBlock> Layers { get; }
        [RmsNorm(nameof(TpConfig.Hidden))] public partial Module Norm { get; }
        [Linear(nameof(TpConfig.Hidden), nameof(TpConfig.Vocab), Bias = false), Shard(ShardStyle.Column)] public partial Module Head { get; }

        private Tensor Forward(Tensor tokens)
        {
            var x = Embed.call(tokens);
            foreach (var layer in Layers)
                x = layer.call(x);
            return Head.call(Norm.call(x));
        }
    }
}
