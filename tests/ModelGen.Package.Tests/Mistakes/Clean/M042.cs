// Stack of a non-layer
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.M042;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Kv { get; init; } = 3; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Stack(2)] partial ModuleList<Linear> Up { get; } //~ MG0109
    Tensor Forward(Tensor x) => x;
}
