// A generic Forward, and an [Input] without the width a hidden-state input needs, and an input with no declared size
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Sig003;
public sealed record Cfg { public int Hidden { get; init; } = 64; }
[Layer(typeof(Cfg))]
public partial class Generic
{
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Up { get; }
    Tensor Forward<T>(Tensor x, [Input(InputShape.Tokens)] Tensor? mask = null) => Up.call(x); //~ MG0130
}
[Layer(typeof(Cfg))]
public partial class NoWidth
{
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Up { get; }
    Tensor Forward(Tensor x,
        [Input(InputShape.Hidden)] Tensor memory) => Up.call(x + memory); //~ MG0133
}
[Layer(typeof(Cfg))]
public partial class Unsized
{
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Up { get; }
    Tensor Forward(Tensor x, Tensor bias) => Up.call(x) + bias; //~ MG0134
}
