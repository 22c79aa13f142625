// A mask whose shape does not broadcast to the tensor
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.FwdShape12;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Ffn { get; init; } = 256; public int Layers { get; init; } = 2; public int Vocab { get; init; } = 1000; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Up { get; }
    Tensor Forward(Tensor x)
    {
        var mask = ones(5, 7).to(ScalarType.Bool);
        return Up.call(x).masked_fill(mask, 0.0); //~ MG0508
    }
}
