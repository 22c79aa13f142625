using ModelGen;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

/// <summary>Sizes for the generated test layers.</summary>
public sealed record TestConfig
{
    public int Hidden { get; init; } = 16;
    public int Ffn { get; init; } = 4 * Hidden0;
    public int Vocab { get; init; } = 32;
    public int Layers { get; init; } = 3;
    private const int Hidden0 = 16;
}

/// <summary>A checkpointed MLP layer with dropout: the foundation's vertical slice.</summary>
[Layer(typeof(TestConfig)), Checkpoint]
public partial class CheckpointedMlp
{
    [Linear(nameof(TestConfig.Hidden), nameof(TestConfig.Ffn))] public partial Linear Up { get; }
    [Linear(nameof(TestConfig.Ffn), nameof(TestConfig.Hidden), Bias = false)] public partial Linear Down { get; }
    [Dropout(0.2)] public partial Dropout Drop { get; }

    private Tensor Forward(Tensor x) => x + Drop.call(Down.call(nn.functional.gelu(Up.call(x))));
}

/// <summary>bf16 storage, with one block kept in fp32.</summary>
[Layer(typeof(TestConfig)), Precision(DType.BFloat16)]
public partial class HalfLayer
{
    [Linear(nameof(TestConfig.Hidden), nameof(TestConfig.Hidden))] public partial Linear Proj { get; }
    [LayerNorm(nameof(TestConfig.Hidden)), Precision(DType.Float32)] public partial LayerNorm Norm { get; }

    private Tensor Forward(Tensor x) => Proj.call(x);
}

/// <summary>A small model: embedding, a stack of checkpointed layers, a tied head.</summary>
[Model(typeof(TestConfig))]
[VramBudget(24, SequenceLength = 64)]
public partial class TinyModel
{
    [Embedding(nameof(TestConfig.Vocab), nameof(TestConfig.Hidden))] public partial Embedding Embed { get; }
    [Stack(nameof(TestConfig.Layers)), Checkpoint(Every = 2)] public partial ModuleList<CheckpointedMlp> Blocks { get; }
    [Sublayer] public partial HalfLayer Half { get; }
    [LayerNorm(nameof(TestConfig.Hidden))] public partial LayerNorm Norm { get; }
    [Linear(nameof(TestConfig.Hidden), nameof(TestConfig.Vocab), Bias = false), TiedTo(nameof(Embed))] public partial Linear Head { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = Embed.call(tokens);
        foreach (var block in Blocks)
            x = block.call(x);
        x = Half.call(x).to_type(ScalarType.Float32);
        return Head.call(Norm.call(x));
    }
}

/// <summary>One Linear of each quantization format, as a bf16 layer: what the memory model must count byte for byte.</summary>
[Layer(typeof(TestConfig)), Precision(DType.BFloat16)]
public partial class QuantizedLayer
{
    [Linear(nameof(TestConfig.Hidden), nameof(TestConfig.Ffn)), Quantize(QuantKind.Int8)] public partial nn.Module<Tensor, Tensor> Up { get; }
    [Linear(nameof(TestConfig.Ffn), nameof(TestConfig.Hidden)), Quantize(QuantKind.Int4, GroupSize = 32)] public partial nn.Module<Tensor, Tensor> Down { get; }
    [Linear(nameof(TestConfig.Ffn), nameof(TestConfig.Hidden), Bias = false), Quantize(QuantKind.NF4, GroupSize = 32, DoubleQuant = true)] public partial nn.Module<Tensor, Tensor> Gate { get; }
    [Linear(nameof(TestConfig.Ffn), nameof(TestConfig.Hidden))] public partial Linear Plain { get; }

    private Tensor Forward(Tensor x)
    {
        var inner = Up.call(x);
        return Down.call(inner) + Gate.call(inner) + Plain.call(inner);
    }
}
