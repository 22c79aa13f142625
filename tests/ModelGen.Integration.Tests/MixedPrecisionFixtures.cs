using ModelGen;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

/// <summary>A pre-norm MLP block under bf16 mixed precision: fp32 parameters, Linear blocks in bf16, the norm in fp32.</summary>
[Layer(typeof(TestConfig)), Precision(DType.Float32, Compute = DType.BFloat16)]
public partial class AmpMlpBf16
{
    [LayerNorm(nameof(TestConfig.Hidden))] public partial LayerNorm Norm { get; }
    [Linear(nameof(TestConfig.Hidden), nameof(TestConfig.Ffn))] public partial AutocastLinear Up { get; }
    [Linear(nameof(TestConfig.Ffn), nameof(TestConfig.Hidden), Bias = false)] public partial nn.Module<Tensor, Tensor> Down { get; }

    private Tensor Forward(Tensor x) => x + Down.call(nn.functional.gelu(Up.call(Norm.call(x))));
}

/// <summary>The same block under fp16 mixed precision (trained with <see cref="LossScaler"/>).</summary>
[Layer(typeof(TestConfig)), Precision(DType.Float32, Compute = DType.Float16)]
public partial class AmpMlpFp16
{
    [LayerNorm(nameof(TestConfig.Hidden))] public partial LayerNorm Norm { get; }
    [Linear(nameof(TestConfig.Hidden), nameof(TestConfig.Ffn))] public partial AutocastLinear Up { get; }
    [Linear(nameof(TestConfig.Ffn), nameof(TestConfig.Hidden), Bias = false)] public partial nn.Module<Tensor, Tensor> Down { get; }

    private Tensor Forward(Tensor x) => x + Down.call(nn.functional.gelu(Up.call(Norm.call(x))));
}

/// <summary>A small fp16 mixed-precision language model: fp32 embedding and norms, fp16 matrix products, a stack of blocks.</summary>
[Model(typeof(TestConfig)), Precision(DType.Float32, Compute = DType.Float16)]
public partial class AmpLanguageModel
{
    [Embedding(nameof(TestConfig.Vocab), nameof(TestConfig.Hidden))] public partial Embedding Embed { get; }
    [Stack(nameof(TestConfig.Layers))] public partial ModuleList<AmpMlpFp16> Blocks { get; }
    [LayerNorm(nameof(TestConfig.Hidden))] public partial LayerNorm Norm { get; }
    [Linear(nameof(TestConfig.Hidden), nameof(TestConfig.Vocab), Bias = false), Head(HeadKind.LanguageModel)] public partial AutocastLinear Head { get; }

    private Tensor Forward(Tensor ids)
    {
        var x = Embed.call(ids);
        foreach (var block in Blocks)
            x = block.call(x);
        return Head.call(Norm.call(x));
    }
}
