// [StateName] with an empty level
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.M049;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Kv { get; init; } = 3; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Linear(4, 4), StateName("a..b")] partial Linear Up { get; } //~ MG0122
    Tensor Forward(Tensor x) => x;
}
