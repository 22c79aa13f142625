// Internal config on a public layer
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.M090;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Kv { get; init; } = 3; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
internal sealed record ICfg { public int Hidden { get; init; } = 4; }
[Layer(typeof(ICfg))]
public partial class Block
{
    [Linear(nameof(ICfg.Hidden), nameof(ICfg.Hidden))] partial Linear Up { get; }
    Tensor Forward(Tensor x) => x;
}
