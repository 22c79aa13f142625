// Tied weights of different shapes
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.M046;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Kv { get; init; } = 3; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Embedding(8, 4)] partial Embedding Embed { get; }
    [Linear(4, 4), TiedTo("Embed")] partial Linear Head { get; } //~ MG0110
    Tensor Forward(Tensor x) => x;
}
