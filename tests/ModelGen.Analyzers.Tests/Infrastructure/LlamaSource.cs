namespace ModelGen.Analyzers.Tests.Infrastructure
{
    /// <summary>A Llama-3-8B-sized decoder (the sample's shape) with the budget attributes left to each test.</summary>
    internal static class LlamaSource
    {
        /// <summary>Llama-3-8B's sizes (Meta 2024): 32 layers, 4096 wide, 32 heads, 8 KV heads, SwiGLU 14336, 128256 tokens.</summary>
        public const string Config = """
            public sealed record LlamaConfig
            {
                public int Vocab { get; init; } = 128256;
                public int Hidden { get; init; } = 4096;
                public int Layers { get; init; } = 32;
                public int Heads { get; init; } = 32;
                public int KvHeads { get; init; } = 8;
                public int Ffn { get; init; } = 14336;
            }

            """;

        /// <summary>The model with <paramref name="budgets"/> (attribute lists, one per line) and a checkpointed decoder block.</summary>
        public static string Model(string budgets, string blockAttributes = "[Layer(typeof(LlamaConfig)), Checkpoint]", string head = "Linear") => Config + $$"""
            [Model(typeof(LlamaConfig))]
            [Precision(DType.BFloat16)]
            {{budgets}}
            public partial class Llama
            {
                [Embedding(nameof(LlamaConfig.Vocab), nameof(LlamaConfig.Hidden))] partial Embedding Embed { get; }
                [Stack(nameof(LlamaConfig.Layers))] partial ModuleList<DecoderBlock> Blocks { get; }
                [RmsNorm(nameof(LlamaConfig.Hidden))] partial ModelGen.Nn.RmsNorm Norm { get; }
                [Linear(nameof(LlamaConfig.Hidden), nameof(LlamaConfig.Vocab), Bias = false)] partial {{head}} Head { get; }
                Tensor Forward(Tensor tokens) => Head.call(Norm.call(Embed.call(tokens)));
            }

            {{blockAttributes}}
            public partial class DecoderBlock
            {
                [RmsNorm(nameof(LlamaConfig.Hidden))] partial ModelGen.Nn.RmsNorm AttnNorm { get; }
                [Attention(nameof(LlamaConfig.Hidden), nameof(LlamaConfig.Heads), KvHeads = nameof(LlamaConfig.KvHeads), Rotary = true, RopeTheta = 500000)]
                partial ModelGen.Nn.Attention Attn { get; }
                [RmsNorm(nameof(LlamaConfig.Hidden))] partial ModelGen.Nn.RmsNorm MlpNorm { get; }
                [FeedForward(nameof(LlamaConfig.Hidden), nameof(LlamaConfig.Ffn), Activation = FeedForwardActivation.SwiGlu, Bias = false)]
                partial ModelGen.Nn.FeedForward Mlp { get; }
                Tensor Forward(Tensor x) => x + Mlp.call(MlpNorm.call(x + Attn.call(AttnNorm.call(x))));
            }
            """;
    }
}
