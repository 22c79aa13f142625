// A view whose inferred dimension does not divide
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.FwdShape07;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Ffn { get; init; } = 256; public int Layers { get; init; } = 2; public int Vocab { get; init; } = 1000; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Q { get; }
    Tensor Forward(Tensor x)
    {
        var rows = Q.call(x).view(x.shape[0], -1, 48); //~ MG0504
        return rows;
    }
}
