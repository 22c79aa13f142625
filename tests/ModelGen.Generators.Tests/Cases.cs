using System.Collections.Generic;

namespace ModelGen.Generators.Tests;

/// <summary>User sources covering every attribute combination the docs list; each becomes a snapshot and a compile check.</summary>
internal static class Cases
{
    public const string Usings = """
        using ModelGen;
        using ModelGen.Nn;
        using ModelGen.Quantization;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace Demo;

        public sealed record Cfg
        {
            public int Vocab { get; init; } = 256;
            public int Hidden { get; init; } = 64;
            public int Heads { get; init; } = 4;
            public int KvHeads { get; init; } = 2;
            public int Ffn { get; init; } = 4 * Hidden2;
            public int Layers { get; init; } = 2;
            private const int Hidden2 = 64;
        }

        """;

    public static readonly Dictionary<string, string> All = new()
    {
        ["LinearPlain"] = """
            [Layer(typeof(Cfg))]
            public partial class Mlp
            {
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Ffn))] public partial Linear Up { get; }
                [Linear(nameof(Cfg.Ffn), nameof(Cfg.Hidden), Bias = false)] public partial Linear Down { get; }
                private Tensor Forward(Tensor x) => Down.call(nn.functional.gelu(Up.call(x)));
            }
            """,
        ["LiteralSizesAndStateName"] = """
            [Layer(typeof(Cfg))]
            internal partial class Proj
            {
                [Linear(64, 32), StateName("c_proj")] internal partial Linear Projection { get; }
                private Tensor Forward(Tensor input) => Projection.call(input);
            }
            """,
        ["PrecisionAndCheckpoint"] = """
            [Layer(typeof(Cfg)), Precision(DType.BFloat16), Checkpoint]
            public partial class Block
            {
                [LayerNorm(nameof(Cfg.Hidden))] public partial LayerNorm Norm { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden)), Precision(DType.Float32)] public partial Linear Router { get; }
                [Dropout(0.1)] public partial Dropout Drop { get; }
                private Tensor Forward(Tensor x) => x + Drop.call(Router.call(Norm.call(x)));
            }
            """,
        ["MixedPrecision"] = """
            [Layer(typeof(Cfg)), Precision(DType.Float32, Compute = DType.BFloat16)]
            public partial class AmpBlock
            {
                [LayerNorm(nameof(Cfg.Hidden))] public partial LayerNorm Norm { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Ffn))] public partial nn.Module<Tensor, Tensor> Up { get; }
                [Linear(nameof(Cfg.Ffn), nameof(Cfg.Hidden), Bias = false)] public partial AutocastLinear Down { get; }
                private Tensor Forward(Tensor x) => x + Down.call(nn.functional.gelu(Up.call(Norm.call(x))));
            }
            """,
        ["MixedPrecisionBlocks"] = """
            [Layer(typeof(Cfg)), Precision(DType.Float32, Compute = DType.Float16)]
            public partial class AmpTransformerBlock
            {
                [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm Ln1 { get; }
                [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads), Fused = false, Rotary = true)] public partial Attention Attn { get; }
                [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm Ln2 { get; }
                [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn), Activation = FeedForwardActivation.SwiGlu, Bias = false)] public partial FeedForward Mlp { get; }
                private Tensor Forward(Tensor x)
                {
                    x = x + Attn.call(Ln1.call(x));
                    return x + Mlp.call(Ln2.call(x));
                }
            }
            """,
        ["ForwardLoops"] = """
            [Layer(typeof(Cfg))]
            public partial class Looped
            {
                private readonly Cfg _cfg = new();
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] public partial Linear Proj { get; }
                private Tensor Forward(Tensor x)
                {
                    for (var i = 0; i < _cfg.Layers; i++)
                        x = x + nn.functional.gelu(Proj.call(x));
                    for (var i = 0; i < x.shape[0]; i++)
                        x = nn.functional.silu(x);
                    return x;
                }
            }
            """,
        ["Quantized"] = """
            [Layer(typeof(Cfg))]
            public partial class QuantMlp
            {
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Ffn)), Quantize(QuantKind.Int8)] public partial QuantizedLinear Up { get; }
                [Linear(nameof(Cfg.Ffn), nameof(Cfg.Hidden)), Quantize(QuantKind.Int4, GroupSize = 64)] public partial QuantizedLinear Down { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden)), Quantize(QuantKind.NF4, DoubleQuant = true)] public partial nn.Module<Tensor, Tensor> Out { get; }
                private Tensor Forward(Tensor x) => Out.call(Down.call(nn.functional.silu(Up.call(x))));
            }
            """,
        ["LoraQuantizedBlocks"] = """
            [Model(typeof(Cfg))]
            public partial class Tuned
            {
                [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden))] public partial Embedding Embed { get; }
                [Stack(nameof(Cfg.Layers))] public partial ModuleList<QBlock> Blocks { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab))] public partial Linear Head { get; }
                private Tensor Forward(Tensor tokens)
                {
                    var x = Embed.call(tokens);
                    foreach (var block in Blocks)
                        x = block.call(x);
                    return Head.call(x);
                }
            }

            [Layer(typeof(Cfg)), Precision(DType.BFloat16), LoRA(16, "q_proj", "v_proj", "gate_proj", "up_proj", "down_proj", Alpha = 32, Dropout = 0.05)]
            public partial class QBlock
            {
                [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm AttnNorm { get; }
                [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads), KvHeads = nameof(Cfg.KvHeads))] public partial Attention Attn { get; }
                [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm MlpNorm { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Ffn), Bias = false), StateName("gate_proj"), Quantize(QuantKind.NF4)] public partial QuantizedLinear Gate { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Ffn), Bias = false), StateName("up_proj"), Quantize(QuantKind.NF4)] public partial QuantizedLinear Up { get; }
                [Linear(nameof(Cfg.Ffn), nameof(Cfg.Hidden), Bias = false), StateName("down_proj"), Quantize(QuantKind.NF4)] public partial QuantizedLinear Down { get; }
                private Tensor Forward(Tensor x)
                {
                    x = x + Attn.call(AttnNorm.call(x));
                    var h = MlpNorm.call(x);
                    return x + Down.call(nn.functional.silu(Gate.call(h)) * Up.call(h));
                }
            }
            """,
        ["QuantizedAttentionMlp"] = """
            [Layer(typeof(Cfg)), LoRA(8, "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")]
            public partial class QloraBlock
            {
                [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm AttnNorm { get; }
                [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads), KvHeads = nameof(Cfg.KvHeads)), Quantize(QuantKind.NF4, DoubleQuant = true)] public partial Attention Attn { get; }
                [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm MlpNorm { get; }
                [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn), Activation = FeedForwardActivation.SwiGlu, Bias = false), Quantize(QuantKind.Int4, GroupSize = 32)] public partial FeedForward Mlp { get; }
                private Tensor Forward(Tensor x)
                {
                    x = x + Attn.call(AttnNorm.call(x));
                    return x + Mlp.call(MlpNorm.call(x));
                }
            }
            """,
        ["LoraOnProperties"] = """
            [Layer(typeof(Cfg)), LoRA(4, "up")]
            public partial class PropertyAdapted
            {
                [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads)), LoRA(8, "q_proj", "v_proj", Alpha = 16), Quantize(QuantKind.NF4)] public partial Attention Attn { get; }
                [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn)), LoRA(2)] public partial FeedForward Mlp { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden)), LoRA(16, Dropout = 0.1)] public partial Linear Out { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] public partial Linear Up { get; }
                private Tensor Forward(Tensor x) => Up.call(Out.call(Mlp.call(x + Attn.call(x))));
            }
            """,
        ["LoraOnModel"] = """
            [Model(typeof(Cfg)), LoRA(8)]
            public partial class Adapted
            {
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Ffn))] public partial Linear Up { get; }
                [Linear(nameof(Cfg.Ffn), nameof(Cfg.Hidden))] public partial Linear Down { get; }
                private Tensor Forward(Tensor x) => Down.call(nn.functional.gelu(Up.call(x)));
            }
            """,
        ["DecoderBlock"] = """
            [Layer(typeof(Cfg)), Checkpoint(CheckpointMode.Selective)]
            public partial class DecoderBlock
            {
                [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm AttnNorm { get; }
                [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads), KvHeads = nameof(Cfg.KvHeads), Rotary = true, RopeTheta = 500000)] public partial Attention Attn { get; }
                [RmsNorm(nameof(Cfg.Hidden), Eps = 1e-5)] public partial RmsNorm MlpNorm { get; }
                [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn), Activation = FeedForwardActivation.SwiGlu, Bias = false)] public partial FeedForward Mlp { get; }
                private Tensor Forward(Tensor x)
                {
                    x = x + Attn.call(AttnNorm.call(x));
                    return x + Mlp.call(MlpNorm.call(x));
                }
            }
            """,
        ["ModelWithStackTiedFrozen"] = """
            [Layer(typeof(Cfg)), Checkpoint]
            public partial class GptBlock
            {
                [LayerNorm(nameof(Cfg.Hidden))] public partial LayerNorm Ln1 { get; }
                [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads), Fused = false, Bias = true, Dropout = 0.1)] public partial Attention Attn { get; }
                [LayerNorm(nameof(Cfg.Hidden))] public partial LayerNorm Ln2 { get; }
                [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn))] public partial FeedForward Mlp { get; }
                private Tensor Forward(Tensor x)
                {
                    x = x + Attn.call(Ln1.call(x));
                    return x + Mlp.call(Ln2.call(x));
                }
            }

            [Model(typeof(Cfg)), Precision(DType.BFloat16)]
            [VramBudget(24, SequenceLength = 1024)]
            public partial class Gpt
            {
                [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden))] public partial Embedding Wte { get; }
                [Embedding(1024, nameof(Cfg.Hidden)), Frozen] public partial Embedding Wpe { get; }
                [Stack(nameof(Cfg.Layers)), Checkpoint(Every = 2)] public partial ModuleList<GptBlock> H { get; }
                [Sublayer] public partial Proj Extra { get; }
                [LayerNorm(nameof(Cfg.Hidden))] public partial LayerNorm LnF { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab), Bias = false), TiedTo(nameof(Wte))] public partial Linear LMHead { get; }
                private Tensor Forward(Tensor tokens)
                {
                    var positions = arange(tokens.shape[1], dtype: ScalarType.Int64, device: tokens.device);
                    var x = Wte.call(tokens) + Wpe.call(positions);
                    foreach (var block in H)
                        x = block.call(x);
                    return LMHead.call(LnF.call(Extra.call(x)));
                }
            }

            [Layer(typeof(Cfg))]
            public partial class Proj
            {
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] public partial Linear P { get; }
                private Tensor Forward(Tensor x) => P.call(x);
            }
            """,
        ["ShardedFp16Budgets"] = """
            [Layer(typeof(Cfg)), Precision(DType.Float16)]
            public partial class ShardedBlock
            {
                [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads), KvHeads = "1", Causal = false, Fused = true)] public partial Attention Attn { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Ffn)), Shard(ShardStyle.Column)] public partial Linear Up { get; }
                [Linear(nameof(Cfg.Ffn), nameof(Cfg.Hidden)), Shard(ShardStyle.Row)] public partial Linear Down { get; }
                [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn), Activation = FeedForwardActivation.Silu), Precision(DType.BFloat16)] public partial FeedForward Mlp { get; }
                [Dropout(0.2)] public partial Dropout Drop { get; }
                private Tensor Forward(Tensor x) => x + Drop.call(Down.call(nn.functional.relu(Up.call(Attn.call(x))))) + Mlp.call(x);
            }

            [Model(typeof(Cfg))]
            [VramBudget(Gpu = "RTX 4090", SequenceLength = 4096, Workload = Workload.Inference)]
            [VramBudget(80, SequenceLength = 2048, Batch = 4, Optimizer = Optimizer.Sgd, TensorParallel = 2, DataParallel = 4, ZeroStage = 3, OffloadOptimizer = true, SequenceParallel = true)]
            public partial class ShardedModel
            {
                [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden)), Shard(ShardStyle.Vocab)] public partial Embedding Embed { get; }
                [Stack(nameof(Cfg.Layers))] public partial ModuleList<ShardedBlock> Blocks { get; }
                private Tensor Forward(Tensor tokens)
                {
                    var x = Embed.call(tokens);
                    foreach (var block in Blocks)
                        x = block.call(x);
                    return x;
                }
            }
            """,
        ["BertEncoderClassifier"] = """
            [Layer(typeof(Cfg)), Precision(DType.BFloat16)]
            public partial class EncoderBlock
            {
                [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads), Causal = false, Fused = false, Bias = true)] public partial Attention Attn { get; }
                [LayerNorm(nameof(Cfg.Hidden), Eps = 1e-12)] public partial LayerNorm AttnNorm { get; }
                [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn), Activation = FeedForwardActivation.GeluErf)] public partial FeedForward Mlp { get; }
                [LayerNorm(nameof(Cfg.Hidden), Eps = 1e-12)] public partial LayerNorm MlpNorm { get; }
                private Tensor Forward(Tensor x)
                {
                    x = AttnNorm.call(x + Attn.call(x)); // post-LN
                    return MlpNorm.call(x + Mlp.call(x));
                }
            }

            [Model(typeof(Cfg)), Precision(DType.BFloat16)]
            [VramBudget(24, SequenceLength = 128, Batch = 8)]
            [VramBudget(24, SequenceLength = 128, Batch = 8, Workload = Workload.Inference)]
            public partial class Bert
            {
                [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden))] public partial Embedding Words { get; }
                [Embedding(128, nameof(Cfg.Hidden), Role = EmbeddingRole.Positions)] public partial Embedding Positions { get; }
                [Embedding(2, nameof(Cfg.Hidden), Role = EmbeddingRole.TokenTypes)] public partial Embedding TokenTypes { get; }
                [LayerNorm(nameof(Cfg.Hidden), Eps = 1e-12)] public partial LayerNorm EmbedNorm { get; }
                [Stack(nameof(Cfg.Layers))] public partial ModuleList<EncoderBlock> Layers { get; }
                [Pooler(nameof(Cfg.Hidden))] public partial Pooler Pool { get; }
                [Dropout(0.1)] public partial Dropout Drop { get; }
                [Linear(nameof(Cfg.Hidden), 3), Head(HeadKind.Classifier)] public partial Linear Classifier { get; }
                private Tensor Forward(Tensor tokens)
                {
                    var positions = arange(tokens.shape[1], device: tokens.device).unsqueeze(0);
                    var x = EmbedNorm.call(Words.call(tokens) + Positions.call(positions) + TokenTypes.call(zeros_like(tokens)));
                    foreach (var layer in Layers)
                        x = layer.call(x);
                    return Classifier.call(Drop.call(Pool.call(x)));
                }
            }
            """,
        ["FeedForwardActivations"] = """
            [Layer(typeof(Cfg))]
            public partial class Mixed
            {
                [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn), Activation = FeedForwardActivation.Relu)] public partial FeedForward Relu { get; }
                [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn), Activation = FeedForwardActivation.GeGlu, Bias = false)] public partial FeedForward GeGlu { get; }
                [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads), KvHeads = nameof(Cfg.KvHeads), SlidingWindow = 4)] public partial Attention Local { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden)), Head(HeadKind.None)] public partial Linear Out { get; }
                private Tensor Forward(Tensor x) => Out.call(Local.call(GeGlu.call(Relu.call(x))));
            }
            """,
        ["EncoderDecoderT5"] = """
            [Layer(typeof(Cfg))]
            public partial class T5EncoderBlock
            {
                [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm AttnNorm { get; }
                [RelativeAttention(nameof(Cfg.Hidden), nameof(Cfg.Heads), Buckets = 8, MaxDistance = 16)] public partial RelativeAttention Attn { get; }
                [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm MlpNorm { get; }
                [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn), Activation = FeedForwardActivation.Relu, Bias = false)] public partial FeedForward Mlp { get; }
                private Tensor Forward(Tensor x)
                {
                    x = x + Attn.call(AttnNorm.call(x));
                    return x + Mlp.call(MlpNorm.call(x));
                }
            }

            [Layer(typeof(Cfg))]
            public partial class T5DecoderBlock
            {
                [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm SelfNorm { get; }
                [RelativeAttention(nameof(Cfg.Hidden), nameof(Cfg.Heads), Causal = true, Buckets = 8, MaxDistance = 16)] public partial RelativeAttention SelfAttn { get; }
                [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm CrossNorm { get; }
                [CrossAttention(nameof(Cfg.Hidden), nameof(Cfg.Heads), Scaled = false)] public partial CrossAttention Cross { get; }
                [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm MlpNorm { get; }
                [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn), Activation = FeedForwardActivation.Relu, Bias = false)] public partial FeedForward Mlp { get; }
                private Tensor Forward(Tensor x, [Input(InputShape.Hidden, Width = nameof(Cfg.Hidden))] Tensor memory)
                {
                    x = x + SelfAttn.call(SelfNorm.call(x));
                    x = x + Cross.call(CrossNorm.call(x), memory);
                    return x + Mlp.call(MlpNorm.call(x));
                }
            }

            [Model(typeof(Cfg))]
            [VramBudget(24, SequenceLength = 128, Batch = 8)]
            public partial class T5
            {
                [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden))] public partial Embedding Shared { get; }
                [Stack(nameof(Cfg.Layers))] public partial ModuleList<T5EncoderBlock> Encoder { get; }
                [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm EncoderNorm { get; }
                [Stack(nameof(Cfg.Layers))] public partial ModuleList<T5DecoderBlock> Decoder { get; }
                [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm DecoderNorm { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab), Bias = false), Head(HeadKind.LanguageModel)] public partial Linear LmHead { get; }
                private Tensor Forward(Tensor source, [Input(InputShape.Tokens)] Tensor target)
                {
                    var memory = Shared.call(source);
                    foreach (var block in Encoder)
                        memory = block.call(memory);
                    memory = EncoderNorm.call(memory);
                    var x = Shared.call(target);
                    foreach (var block in Decoder)
                        x = block.call(x, memory);
                    return LmHead.call(DecoderNorm.call(x));
                }
            }
            """,
        ["GlobalNamespacePositionalConfig"] = """
            public sealed record TinyConfig(int Hidden = 32, int Ffn = 64);

            [ModelGen.Layer(typeof(TinyConfig))]
            public partial class GlobalMlp
            {
                [ModelGen.Linear(nameof(TinyConfig.Hidden), nameof(TinyConfig.Ffn))] public partial TorchSharp.Modules.Linear Up { get; }
                private TorchSharp.torch.Tensor Forward(TorchSharp.torch.Tensor x) => Up.call(x);
            }
            """,
    };

    /// <summary>The full source of a case (global-namespace cases stand alone).</summary>
    public static string Source(string name) => name.StartsWith("Global", System.StringComparison.Ordinal) ? All[name] : Usings + All[name];
}
