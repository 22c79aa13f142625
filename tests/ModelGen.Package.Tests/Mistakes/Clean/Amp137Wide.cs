// Mixed precision computing in fp32
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Amp137Wide;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Ffn { get; init; } = 128; }
[Layer(typeof(Cfg)), Precision(DType.BFloat16, Compute = DType.Float32)] //~ MG0137
public partial class Block
{
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial nn.Module<Tensor, Tensor> Proj { get; }
    Tensor Forward(Tensor x) => Proj.call(x);
}
