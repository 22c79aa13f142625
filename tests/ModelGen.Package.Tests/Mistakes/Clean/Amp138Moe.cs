// A mixture-of-experts block under mixed precision: it has no 16-bit compute form, so it is refused rather than run in fp32
using ModelGen; using ModelGen.Nn; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Amp138Moe;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Ffn { get; init; } = 128; public int Experts { get; init; } = 4; }
[Layer(typeof(Cfg)), Precision(DType.Float32, Compute = DType.BFloat16)]
public partial class Block
{
    [MixtureOfExperts(nameof(Cfg.Hidden), nameof(Cfg.Ffn), nameof(Cfg.Experts))] partial MixtureOfExperts Moe { get; } //~ MG0138
    Tensor Forward(Tensor x) => Moe.call(x);
}
