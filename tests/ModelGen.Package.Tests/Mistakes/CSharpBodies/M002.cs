// Unknown member and a C# error in a method body
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.CSharpBodies.M002;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Kv { get; init; } = 3; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Linear("Nope", 4)] partial Linear Up { get; } //~ MG0102
    Tensor Forward(Tensor x) => Up.call(x) + undefinedThing; //~ CS0103
}
