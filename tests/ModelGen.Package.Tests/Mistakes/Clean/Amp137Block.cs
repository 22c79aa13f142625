// Compute on a block property
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Amp137Block;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Ffn { get; init; } = 128; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden)), Precision(DType.Float32, Compute = DType.BFloat16)] partial Linear Proj { get; } //~ MG0137
    Tensor Forward(Tensor x) => Proj.call(x);
}
