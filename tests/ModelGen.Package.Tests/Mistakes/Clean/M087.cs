// A stack whose weights do not fit 64-bit arithmetic (a million layers alone is fine: a stack is sized as one run)
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.M087;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Kv { get; init; } = 3; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Layer(typeof(Cfg))]
public partial class Child
{
    [Linear(100000, 100000)] partial Linear Up { get; }
    Tensor Forward(Tensor x) => x;
}
[Model(typeof(Cfg))]
[VramBudget(24)] //~ MG0006
public partial class Net
{
    [Stack(int.MaxValue)] partial ModuleList<Child> Blocks { get; }
    Tensor Forward(Tensor x) => x;
}
