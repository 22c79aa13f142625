// Mixture of experts: top-k routes each token to more experts than the block has
using ModelGen; using ModelGen.Nn; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Moe541;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Ffn { get; init; } = 128; public int Experts { get; init; } = 4; public int TopK { get; init; } = 6; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [MixtureOfExperts(nameof(Cfg.Hidden), nameof(Cfg.Ffn), nameof(Cfg.Experts), TopK = nameof(Cfg.TopK))] partial MixtureOfExperts Moe { get; } //~ MG0541
    Tensor Forward(Tensor x) => x + Moe.call(x);
}
