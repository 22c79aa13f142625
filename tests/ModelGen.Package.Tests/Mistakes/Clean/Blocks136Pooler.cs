// Pooler declared as a Linear
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Blocks136Pooler;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Kv { get; init; } = 3; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Pooler(nameof(Cfg.Hidden))] partial Linear Pool { get; } //~ MG0105
    Tensor Forward(Tensor x) => x;
}
