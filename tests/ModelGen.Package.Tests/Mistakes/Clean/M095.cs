// [LoRA] with a rank below 1
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.M095;
public sealed record Cfg { public int Hidden { get; init; } = 64; }
[Layer(typeof(Cfg))]
[LoRA(0, "up")] //~ MG0306
public partial class Block
{
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Up { get; }
    Tensor Forward(Tensor x) => Up.call(x);
}
