// Config type is a static class
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.M017;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Kv { get; init; } = 3; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Layer(typeof(System.Math))] //~ MG0121
public partial class Block
{
    [Linear(4, 4)] partial Linear Up { get; }
    Tensor Forward(Tensor x) => x;
}
