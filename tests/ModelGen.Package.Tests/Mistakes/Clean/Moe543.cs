// Mixture of experts with a negative capacity factor
using ModelGen; using ModelGen.Nn; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Moe543;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Ffn { get; init; } = 128; public int Experts { get; init; } = 4; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [MixtureOfExperts(nameof(Cfg.Hidden), nameof(Cfg.Ffn), nameof(Cfg.Experts), CapacityFactor = -1.0)] partial MixtureOfExperts Moe { get; } //~ MG0543
    Tensor Forward(Tensor x) => x + Moe.call(x);
}
