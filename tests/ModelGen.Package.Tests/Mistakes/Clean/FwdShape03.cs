// A SwiGLU whose gate and up projections have different widths
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.FwdShape03;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Ffn { get; init; } = 256; public int Layers { get; init; } = 2; public int Vocab { get; init; } = 1000; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Ffn))] partial Linear Gate { get; }
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Up { get; }
    [Linear(nameof(Cfg.Ffn), nameof(Cfg.Hidden))] partial Linear Down { get; }
    Tensor Forward(Tensor x) => Down.call(nn.functional.silu(Gate.call(x)) * Up.call(x)); //~ MG0502
}
