// Group size does not divide
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.M059;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Kv { get; init; } = 3; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Linear(96, 4), Quantize(QuantKind.Int4, GroupSize = 64)] partial nn.Module<Tensor, Tensor> Up { get; } //~ MG0303
    Tensor Forward(Tensor x) => x;
}
