// The down projection is fed the residual stream instead of the MLP activation
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.FwdShape08;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Ffn { get; init; } = 256; public int Layers { get; init; } = 2; public int Vocab { get; init; } = 1000; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Ffn))] partial Linear Up { get; }
    [Linear(nameof(Cfg.Ffn), nameof(Cfg.Hidden))] partial Linear Down { get; }
    Tensor Forward(Tensor x)
    {
        var h = nn.functional.gelu(Up.call(x));
        return x + Down.call(x); //~ MG0505
    }
}
