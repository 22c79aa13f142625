// [LoRA] on a property whose block has no projections
using ModelGen; using ModelGen.Nn; using TorchSharp; using static TorchSharp.torch;
namespace Mistakes.Clean.Q308;
public sealed record Cfg { public int Hidden { get; init; } = 64; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [RmsNorm(nameof(Cfg.Hidden)), LoRA(8)] partial RmsNorm Norm { get; } //~ MG0308
    Tensor Forward(Tensor x) => Norm.call(x);
}
