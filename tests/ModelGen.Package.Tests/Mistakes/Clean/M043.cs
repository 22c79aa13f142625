// Sublayer with another config
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.M043;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Kv { get; init; } = 3; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
public sealed record Other { public int Hidden { get; init; } = 4; }
[Layer(typeof(Other))]
public partial class Child
{
    [Linear(nameof(Other.Hidden), nameof(Other.Hidden))] partial Linear Up { get; }
    Tensor Forward(Tensor x) => x;
}
[Layer(typeof(Cfg))]
public partial class Block
{
    [Sublayer] partial Child Inner { get; } //~ MG0111
    Tensor Forward(Tensor x) => x;
}
