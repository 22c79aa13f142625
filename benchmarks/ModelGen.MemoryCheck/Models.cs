using ModelGen;
using ModelGen.Nn;
using ModelGen.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.MemoryCheck;

/// <summary>Sizes of the probe models: big enough that activations dominate, small enough for a 2-core CPU in seconds.</summary>
public sealed record ProbeConfig
{
    /// <summary>Vocabulary size.</summary>
    public int Vocab { get; init; } = 4096;

    /// <summary>Model width.</summary>
    public int Hidden { get; init; } = 512;

    /// <summary>Attention heads.</summary>
    public int Heads { get; init; } = 8;

    /// <summary>Feed-forward inner width.</summary>
    public int Ffn { get; init; } = 2048;

    /// <summary>Decoder blocks.</summary>
    public int Layers { get; init; } = 4;
}

/// <summary>A GPT-style decoder block: pre-norm eager attention and a GELU MLP, no dropout.</summary>
[Layer(typeof(ProbeConfig))]
public partial class PlainBlock
{
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial LayerNorm Ln1 { get; }
    [Attention(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Heads), Fused = false, Bias = true)] public partial Attention Attn { get; }
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial LayerNorm Ln2 { get; }
    [FeedForward(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Ffn))] public partial FeedForward Mlp { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(Ln1.call(x));
        return x + Mlp.call(Ln2.call(x));
    }
}

/// <summary>The same block, fully checkpointed.</summary>
[Layer(typeof(ProbeConfig)), Checkpoint]
public partial class CheckpointedBlock
{
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial LayerNorm Ln1 { get; }
    [Attention(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Heads), Fused = false, Bias = true)] public partial Attention Attn { get; }
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial LayerNorm Ln2 { get; }
    [FeedForward(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Ffn))] public partial FeedForward Mlp { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(Ln1.call(x));
        return x + Mlp.call(Ln2.call(x));
    }
}

/// <summary>
/// The block with its MLP as two int8-quantized (frozen) linears: attention and norms train. No activation function between
/// them: the memory model cannot see ops written in a user's Forward (a GELU there would save its input, T·ffn·4 bytes per
/// block), and this probe checks the model, not that known blind spot.
/// </summary>
[Layer(typeof(ProbeConfig))]
public partial class QuantizedBlock
{
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial LayerNorm Ln1 { get; }
    [Attention(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Heads), Fused = false, Bias = true)] public partial Attention Attn { get; }
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial LayerNorm Ln2 { get; }
    [Linear(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Ffn)), Quantize(QuantKind.Int8)] public partial QuantizedLinear Up { get; }
    [Linear(nameof(ProbeConfig.Ffn), nameof(ProbeConfig.Hidden)), Quantize(QuantKind.Int8)] public partial QuantizedLinear Down { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(Ln1.call(x));
        return x + Down.call(Up.call(Ln2.call(x)));
    }
}

/// <summary>Embedding, plain blocks, final norm, output head.</summary>
[Model(typeof(ProbeConfig))]
public partial class PlainProbe
{
    [Embedding(nameof(ProbeConfig.Vocab), nameof(ProbeConfig.Hidden))] public partial Embedding Embed { get; }
    [Stack(nameof(ProbeConfig.Layers))] public partial ModuleList<PlainBlock> Blocks { get; }
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial LayerNorm Norm { get; }
    [Linear(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Vocab), Bias = false)] public partial Linear Head { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = Embed.call(tokens);
        foreach (var block in Blocks)
            x = block.call(x);
        return Head.call(Norm.call(x));
    }
}

/// <summary>Embedding, checkpointed blocks, final norm, output head.</summary>
[Model(typeof(ProbeConfig))]
public partial class CheckpointedProbe
{
    [Embedding(nameof(ProbeConfig.Vocab), nameof(ProbeConfig.Hidden))] public partial Embedding Embed { get; }
    [Stack(nameof(ProbeConfig.Layers))] public partial ModuleList<CheckpointedBlock> Blocks { get; }
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial LayerNorm Norm { get; }
    [Linear(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Vocab), Bias = false)] public partial Linear Head { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = Embed.call(tokens);
        foreach (var block in Blocks)
            x = block.call(x);
        return Head.call(Norm.call(x));
    }
}

/// <summary>Embedding, blocks with quantized MLPs, final norm, output head.</summary>
[Model(typeof(ProbeConfig))]
public partial class QuantizedProbe
{
    [Embedding(nameof(ProbeConfig.Vocab), nameof(ProbeConfig.Hidden))] public partial Embedding Embed { get; }
    [Stack(nameof(ProbeConfig.Layers))] public partial ModuleList<QuantizedBlock> Blocks { get; }
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial LayerNorm Norm { get; }
    [Linear(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Vocab), Bias = false)] public partial Linear Head { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = Embed.call(tokens);
        foreach (var block in Blocks)
            x = block.call(x);
        return Head.call(Norm.call(x));
    }
}
