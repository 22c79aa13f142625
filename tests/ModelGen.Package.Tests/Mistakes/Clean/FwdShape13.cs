// Transposing a dimension out of range
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.FwdShape13;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Ffn { get; init; } = 256; public int Layers { get; init; } = 2; public int Vocab { get; init; } = 1000; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Up { get; }
    Tensor Forward(Tensor x) => Up.call(x).transpose(1, 3); //~ MG0507
}
