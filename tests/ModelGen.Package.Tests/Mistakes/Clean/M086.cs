// Sizes of 2e9 x 2e9
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.M086;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Kv { get; init; } = 3; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Model(typeof(Cfg))]
[VramBudget(24)] //~ MG0006
public partial class Net
{
    [Linear(2_000_000_000, 2_000_000_000)] partial Linear Huge { get; }
    Tensor Forward(Tensor x) => x;
}
