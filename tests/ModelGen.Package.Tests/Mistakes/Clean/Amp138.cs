// A Pooler block under mixed precision (Attention and FeedForward have mixed-precision forms; a Pooler does not)
using ModelGen; using ModelGen.Nn; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Amp138;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Ffn { get; init; } = 128; }
[Layer(typeof(Cfg)), Precision(DType.Float32, Compute = DType.BFloat16)]
public partial class Block
{
    [Pooler(nameof(Cfg.Hidden))] partial Pooler Pool { get; } //~ MG0138
    Tensor Forward(Tensor x) => Pool.call(x);
}
