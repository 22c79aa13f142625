// A FeedForward block under mixed precision
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Amp138;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Ffn { get; init; } = 128; }
[Layer(typeof(Cfg)), Precision(DType.Float32, Compute = DType.BFloat16)]
public partial class Block
{
    [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn))] partial ModelGen.Nn.FeedForward Mlp { get; } //~ MG0138
    Tensor Forward(Tensor x) => x + Mlp.call(x);
}
