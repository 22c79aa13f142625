// Const and long config members
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.M092;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Kv { get; init; } = 3; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
public sealed record KCfg { public const int Hidden = 8; public long Ffn { get; init; } = 3L * Hidden; }
[Layer(typeof(KCfg))]
public partial class Block
{
    [Linear(nameof(KCfg.Hidden), nameof(KCfg.Ffn))] partial Linear Up { get; }
    Tensor Forward(Tensor x) => x;
}
