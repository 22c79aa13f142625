// Mixture of experts with no experts
using ModelGen; using ModelGen.Nn; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Moe542;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Ffn { get; init; } = 128; public int Experts { get; init; } = 0; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [MixtureOfExperts(nameof(Cfg.Hidden), nameof(Cfg.Ffn), nameof(Cfg.Experts), TopK = 1)] partial MixtureOfExperts Moe { get; } //~ MG0542
    Tensor Forward(Tensor x) => x + Moe.call(x);
}
