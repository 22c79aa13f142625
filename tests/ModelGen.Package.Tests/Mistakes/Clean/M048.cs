// Tied and quantized
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.M048;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Kv { get; init; } = 3; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Embedding(8, 128)] partial Embedding Embed { get; }
    [Linear(128, 8), TiedTo("Embed"), Quantize(QuantKind.Int8)] partial nn.Module<Tensor, Tensor> Head { get; } //~ MG0304
    Tensor Forward(Tensor x) => x;
}
