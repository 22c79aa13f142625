// Not partial, with a partial member: the generated part leaves one CS0260 (missing partial modifier) instead of CS0751 and CS9248
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.CSharpDeclarations.M003;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Kv { get; init; } = 3; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Layer(typeof(Cfg))]
public class Block //~ MG0101 CS0260
{
    [Linear(4, 4)] partial Linear Up { get; }
    Tensor Forward(Tensor x) => x;
}
