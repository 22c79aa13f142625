using ModelGen;
using ModelGen.Nn;
using ModelGen.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.MemoryCheck;

/// <summary>The plain probe with rank-16 adapters on every attention and MLP projection: the base, embedding and head frozen.</summary>
[Model(typeof(ProbeConfig)), LoRA(16, "q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj", Alpha = 32)]
public partial class LoraProbe
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

/// <summary>QLoRA: the quantized probe's block with its MLP in NF4, rank-16 adapters on every attention and MLP projection.</summary>
[Layer(typeof(ProbeConfig))]
public partial class QloraBlock
{
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial LayerNorm Ln1 { get; }
    [Attention(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Heads), Fused = false, Bias = true)] public partial Attention Attn { get; }
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial LayerNorm Ln2 { get; }
    [Linear(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Ffn)), StateName("up_proj"), Quantize(QuantKind.NF4)] public partial QuantizedLinear Up { get; }
    [Linear(nameof(ProbeConfig.Ffn), nameof(ProbeConfig.Hidden)), StateName("down_proj"), Quantize(QuantKind.NF4)] public partial QuantizedLinear Down { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(Ln1.call(x));
        return x + Down.call(Up.call(Ln2.call(x)));
    }
}

/// <summary>Embedding, QLoRA blocks, final norm, output head; adapters from the model's [LoRA].</summary>
[Model(typeof(ProbeConfig)), LoRA(16, "q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj", Alpha = 32)]
public partial class QloraProbe
{
    [Embedding(nameof(ProbeConfig.Vocab), nameof(ProbeConfig.Hidden))] public partial Embedding Embed { get; }
    [Stack(nameof(ProbeConfig.Layers))] public partial ModuleList<QloraBlock> Blocks { get; }
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
