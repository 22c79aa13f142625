// Forward parameters the generated module cannot pass: by ref, and a non-tensor
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Sig001;
public sealed record Cfg { public int Hidden { get; init; } = 64; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Up { get; }
    Tensor Forward(Tensor x, ref Tensor state, int steps) => Up.call(x); //~ MG0128
}
