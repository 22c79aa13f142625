using TorchSharp.Modules;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>;

namespace ModelGen.Parallel.Worker
{
    /// <summary>Sizes of the generated quantized and windowed tensor-parallel models: slices of 32 input features at degree 4.</summary>
    public sealed record TqConfig
    {
        /// <summary>Vocabulary.</summary>
        public int Vocab { get; init; } = 64;

        /// <summary>Model width.</summary>
        public int Hidden { get; init; } = 128;

        /// <summary>Query heads.</summary>
        public int Heads { get; init; } = 4;

        /// <summary>Key/value heads (replicated on 2 ranks at degree 4).</summary>
        public int KvHeads { get; init; } = 2;

        /// <summary>Feed-forward width.</summary>
        public int Ffn { get; init; } = 256;

        /// <summary>Decoder layers.</summary>
        public int Layers { get; init; } = 2;
    }

    /// <summary>
    /// A QLoRA-style Llama layer: sharded attention (GQA, rotary, biases) with NF4 projections and a sharded SwiGLU feed-forward with
    /// int4 projections, each rank quantizing only its slices (groups of 32 fall on the slice boundaries at degree 2 and 4).
    /// </summary>
    [Layer(typeof(TqConfig))]
    public partial class TqLlamaBlock
    {
        [RmsNorm(nameof(TqConfig.Hidden))] public partial Module AttnNorm { get; }
        [Attention(nameof(TqConfig.Hidden), nameof(TqConfig.Heads), KvHeads = nameof(TqConfig.KvHeads), Rotary = true, Bias = true), Shard(ShardStyle.Column), Quantize(QuantKind.NF4, GroupSize = 32)]
        public partial Module Attn { get; }
        [RmsNorm(nameof(TqConfig.Hidden))] public partial Module MlpNorm { get; }
        [FeedForward(nameof(TqConfig.Hidden), nameof(TqConfig.Ffn), Activation = FeedForwardActivation.SwiGlu, Bias = false), Shard(ShardStyle.Column), Quantize(QuantKind.Int4, GroupSize = 32)]
        public partial Module Mlp { get; }

        private Tensor Forward(Tensor x)
        {
            x = x + Attn.call(AttnNorm.call(x));
            return x + Mlp.call(MlpNorm.call(x));
        }
    }

    /// <summary>The quantized Llama: vocab-parallel embedding, quantized sharded layers, column-parallel head.</summary>
    [Model(typeof(TqConfig))]
    public partial class TqLlama
    {
        [Embedding(nameof(TqConfig.Vocab), nameof(TqConfig.Hidden)), Shard(ShardStyle.Vocab)] public partial Module Embed { get; }
        [Stack(nameof(TqConfig.Layers))] public partial ModuleList<TqLlamaBlock> Layers { get; }
        [RmsNorm(nameof(TqConfig.Hidden))] public partial Module Norm { get; }
        [Linear(nameof(TqConfig.Hidden), nameof(TqConfig.Vocab), Bias = false), Shard(ShardStyle.Column)] public partial Module Head { get; }

        private Tensor Forward(Tensor tokens)
        {
            var x = Embed.call(tokens);
            foreach (var layer in Layers)
                x = layer.call(x);
            return Head.call(Norm.call(x));
        }
    }

    /// <summary>A Mistral-like layer: sharded GQA rotary attention with a per-block sliding window of 4 tokens, sharded SwiGLU.</summary>
    [Layer(typeof(TqConfig))]
    public partial class TwBlock
    {
        [RmsNorm(nameof(TqConfig.Hidden))] public partial Module AttnNorm { get; }
        [Attention(nameof(TqConfig.Hidden), nameof(TqConfig.Heads), KvHeads = nameof(TqConfig.KvHeads), Rotary = true, SlidingWindow = 4), Shard(ShardStyle.Column)]
        public partial Module Attn { get; }
        [RmsNorm(nameof(TqConfig.Hidden))] public partial Module MlpNorm { get; }
        [FeedForward(nameof(TqConfig.Hidden), nameof(TqConfig.Ffn), Activation = FeedForwardActivation.SwiGlu, Bias = false), Shard(ShardStyle.Column)]
        public partial Module Mlp { get; }

        private Tensor Forward(Tensor x)
        {
            x = x + Attn.call(AttnNorm.call(x));
            return x + Mlp.call(MlpNorm.call(x));
        }
    }

    /// <summary>The windowed decoder: vocab-parallel embedding, windowed sharded layers, column-parallel head.</summary>
    [Model(typeof(TqConfig))]
    public partial class TwMistral
    {
        [Embedding(nameof(TqConfig.Vocab), nameof(TqConfig.Hidden)), Shard(ShardStyle.Vocab)] public partial Module Embed { get; }
        [Stack(nameof(TqConfig.Layers))] public partial ModuleList<TwBlock> Layers { get; }
        [RmsNorm(nameof(TqConfig.Hidden))] public partial Module Norm { get; }
        [Linear(nameof(TqConfig.Hidden), nameof(TqConfig.Vocab), Bias = false), Shard(ShardStyle.Column)] public partial Module Head { get; }

        private Tensor Forward(Tensor tokens)
        {
            var x = Embed.call(tokens);
            foreach (var layer in Layers)
                x = layer.call(x);
            return Head.call(Norm.call(x));
        }
    }
}
