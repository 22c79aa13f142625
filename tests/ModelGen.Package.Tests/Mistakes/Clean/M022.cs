// Two layers contain each other
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.M022;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Kv { get; init; } = 3; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Layer(typeof(Cfg))]
public partial class Block //~ MG0119
{
    [Sublayer] partial Other Inner { get; }
    Tensor Forward(Tensor x) => x;
}
[Layer(typeof(Cfg))]
public partial class Other //~ MG0119
{
    [Stack(2)] partial ModuleList<Block> Again { get; }
    Tensor Forward(Tensor x) => x;
}
