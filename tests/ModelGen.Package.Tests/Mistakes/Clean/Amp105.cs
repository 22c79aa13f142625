// A Linear of a mixed-precision layer declared as TorchSharp's Linear
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Amp105;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Ffn { get; init; } = 128; }
[Layer(typeof(Cfg)), Precision(DType.Float32, Compute = DType.BFloat16)]
public partial class Block
{
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Proj { get; } //~ MG0105
    Tensor Forward(Tensor x) => Proj.call(x);
}
