// A sublayer called inside a counted Forward loop: it is walked once, so the memory estimate is low by the repeats
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Loop572;
public sealed record Cfg { public int Hidden { get; init; } = 64; }
[Layer(typeof(Cfg))]
public partial class Inner
{
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Proj { get; }
    Tensor Forward(Tensor x) => Proj.call(x);
}
[Layer(typeof(Cfg))]
public partial class Outer
{
    [Sublayer] partial Inner Shared { get; }
    Tensor Forward(Tensor x)
    {
        for (var i = 0; i < 3; i++) x = Shared.call(x); //~ MG0572
        return x;
    }
}
