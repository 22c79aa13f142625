using ModelGen;
using ModelGen.Nn;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

/// <summary>Sizes of the mixed-precision transformer fixtures.</summary>
public sealed record AmpBlockConfig
{
    /// <summary>Model width.</summary>
    public int Hidden { get; init; } = 32;
    /// <summary>Attention heads.</summary>
    public int Heads { get; init; } = 4;
    /// <summary>Feed-forward width.</summary>
    public int Ffn { get; init; } = 64;
    /// <summary>Tokens.</summary>
    public int Vocab { get; init; } = 40;
    /// <summary>Blocks.</summary>
    public int Layers { get; init; } = 2;
}

/// <summary>A pre-norm transformer block under bf16 mixed precision: eager attention (fp32 softmax) and a GELU FeedForward.</summary>
[Layer(typeof(AmpBlockConfig)), Precision(DType.Float32, Compute = DType.BFloat16)]
public partial class AmpEagerBlock
{
    [LayerNorm(nameof(AmpBlockConfig.Hidden))] public partial LayerNorm Ln1 { get; }
    [Attention(nameof(AmpBlockConfig.Hidden), nameof(AmpBlockConfig.Heads), Fused = false, Bias = true)] public partial Attention Attn { get; }
    [LayerNorm(nameof(AmpBlockConfig.Hidden))] public partial LayerNorm Ln2 { get; }
    [FeedForward(nameof(AmpBlockConfig.Hidden), nameof(AmpBlockConfig.Ffn))] public partial FeedForward Mlp { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(Ln1.call(x));
        return x + Mlp.call(Ln2.call(x));
    }
}

/// <summary>The same block with fused attention (scaled_dot_product_attention in bf16) and a SwiGLU FeedForward without biases.</summary>
[Layer(typeof(AmpBlockConfig)), Precision(DType.Float32, Compute = DType.BFloat16)]
public partial class AmpFusedBlock
{
    [LayerNorm(nameof(AmpBlockConfig.Hidden))] public partial LayerNorm Ln1 { get; }
    [Attention(nameof(AmpBlockConfig.Hidden), nameof(AmpBlockConfig.Heads))] public partial Attention Attn { get; }
    [LayerNorm(nameof(AmpBlockConfig.Hidden))] public partial LayerNorm Ln2 { get; }
    [FeedForward(nameof(AmpBlockConfig.Hidden), nameof(AmpBlockConfig.Ffn), Activation = FeedForwardActivation.SwiGlu, Bias = false)] public partial FeedForward Mlp { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(Ln1.call(x));
        return x + Mlp.call(Ln2.call(x));
    }
}

/// <summary>A small bf16 mixed-precision language model built from [Attention] and [FeedForward] blocks.</summary>
[Model(typeof(AmpBlockConfig)), Precision(DType.Float32, Compute = DType.BFloat16)]
public partial class AmpTransformer
{
    [Embedding(nameof(AmpBlockConfig.Vocab), nameof(AmpBlockConfig.Hidden))] public partial Embedding Embed { get; }
    [Stack(nameof(AmpBlockConfig.Layers))] public partial ModuleList<AmpEagerBlock> Blocks { get; }
    [LayerNorm(nameof(AmpBlockConfig.Hidden))] public partial LayerNorm Norm { get; }
    [Linear(nameof(AmpBlockConfig.Hidden), nameof(AmpBlockConfig.Vocab), Bias = false), Head(HeadKind.LanguageModel)] public partial AutocastLinear Head { get; }

    private Tensor Forward(Tensor ids)
    {
        var x = Embed.call(ids);
        foreach (var block in Blocks)
            x = block.call(x);
        return Head.call(Norm.call(x));
    }
}
