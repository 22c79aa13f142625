namespace ModelGen.Analyzers.Tests.Infrastructure
{
    /// <summary>A small decoder (166 M parameters) whose training memory is dominated by activations, so checkpointing fits it.</summary>
    internal static class TinySource
    {
        /// <summary>The model with <paramref name="budget"/>; <paramref name="blockAttributes"/> and <paramref name="stackAttributes"/> vary per test.</summary>
        public static string Model(string budget, string blockAttributes = "[Layer(typeof(Cfg))]", string stackAttributes = "[Stack(nameof(Cfg.Layers))]") => $$"""
            public sealed record Cfg
            {
                public int Vocab { get; init; } = 32000;
                public int Hidden { get; init; } = 1024;
                public int Layers { get; init; } = 8;
                public int Heads { get; init; } = 16;
                public int Ffn { get; init; } = 4096;
            }

            [Model(typeof(Cfg))]
            [Precision(DType.BFloat16)]
            {{budget}}
            public partial class Tiny
            {
                [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden))] partial Embedding Embed { get; }
                {{stackAttributes}} partial ModuleList<Block> Blocks { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab), Bias = false)] partial Linear Head { get; }
                Tensor Forward(Tensor tokens) => Head.call(Embed.call(tokens));
            }

            {{blockAttributes}}
            public partial class Block
            {
                [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads), Fused = false), Shard(ShardStyle.Column)] partial TorchSharp.torch.nn.Module<Tensor, Tensor> Attn { get; }
                [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn)), Shard(ShardStyle.Column)] partial TorchSharp.torch.nn.Module<Tensor, Tensor> Mlp { get; }
                Tensor Forward(Tensor x) => x + Mlp.call(x + Attn.call(x));
            }
            """;
    }
}
