// A million stacked layers
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.M087;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Kv { get; init; } = 3; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Layer(typeof(Cfg))]
public partial class Child
{
    [Linear(4, 4)] partial Linear Up { get; }
    Tensor Forward(Tensor x) => x;
}
[Model(typeof(Cfg))]
[VramBudget(24)] //~ MG0006
public partial class Net
{
    [Stack(1_000_000)] partial ModuleList<Child> Blocks { get; }
    Tensor Forward(Tensor x) => x;
}
