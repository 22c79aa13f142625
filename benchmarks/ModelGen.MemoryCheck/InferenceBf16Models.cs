using ModelGen;
using ModelGen.Nn;
using ModelGen.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.MemoryCheck;

/// <summary>
/// <see cref="QuantizedBlock"/> in bf16: on a CPU with AVX-512 its int8 projections run prefill through the bf16 tile the thread
/// keeps for the pass (PrefillTile), which the <c>infer-quantized-bf16</c> rows check; decode steps free it.
/// </summary>
[Layer(typeof(ProbeConfig)), Precision(DType.BFloat16)]
public partial class QuantizedBf16Block
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

/// <summary>Embedding, bf16 blocks with int8 MLPs, final norm, output head, all in bf16.</summary>
[Model(typeof(ProbeConfig)), Precision(DType.BFloat16)]
public partial class QuantizedBf16Probe
{
    [Embedding(nameof(ProbeConfig.Vocab), nameof(ProbeConfig.Hidden))] public partial Embedding Embed { get; }
    [Stack(nameof(ProbeConfig.Layers))] public partial ModuleList<QuantizedBf16Block> Blocks { get; }
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
