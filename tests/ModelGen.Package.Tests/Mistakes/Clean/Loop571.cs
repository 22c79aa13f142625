// A Forward loop bounded by a tensor's size: its body is counted once, so the memory estimate may be low
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Loop571;
public sealed record Cfg { public int Hidden { get; init; } = 64; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Proj { get; }
    Tensor Forward(Tensor x)
    {
        for (var i = 0; i < x.shape[0]; i++) x = x + nn.functional.gelu(Proj.call(x)); //~ MG0571
        return x;
    }
}
