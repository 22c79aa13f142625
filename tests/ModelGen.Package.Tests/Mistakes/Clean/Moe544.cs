// Mixture of experts: a capacity factor below 1 drops routes even when the router balances them
using ModelGen; using ModelGen.Nn; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Moe544;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Ffn { get; init; } = 128; public int Experts { get; init; } = 8; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [MixtureOfExperts(nameof(Cfg.Hidden), nameof(Cfg.Ffn), nameof(Cfg.Experts), CapacityFactor = 0.5)] partial MixtureOfExperts Moe { get; } //~ MG0544
    Tensor Forward(Tensor x) => x + Moe.call(x);
}
