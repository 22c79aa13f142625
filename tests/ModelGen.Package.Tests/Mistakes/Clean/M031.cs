// Config member Bigger: MG0006
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.M031;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Kv { get; init; } = 3; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
public sealed record DCfg { public double Hidden { get; init; } = 64; public string Name { get; init; } = "x"; private int Secret { get; init; } = 4; public int Runtime { get; init; } = System.Environment.ProcessorCount; public static long Big { get; } = long.MaxValue; public long Bigger { get; init; } = Big * 2; public static int A { get; } = B + 1; public static int B { get; } = A + 1; public int Ok { get; init; } = 8; }
[Layer(typeof(DCfg))]
public partial class Block
{
    [Linear("Bigger", nameof(DCfg.Ok))] partial Linear Up { get; } //~ MG0006
    Tensor Forward(Tensor x) => x;
}
