// Cross-attention heads that do not divide the width
using ModelGen; using ModelGen.Nn; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Blocks559;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Layer(typeof(Cfg))]
public partial class DecoderLayer
{
    [CrossAttention(nameof(Cfg.Hidden), 3)] partial CrossAttention Cross { get; } //~ MG0559
    Tensor Forward(Tensor x, [Input(InputShape.Hidden, Width = nameof(Cfg.Hidden))] Tensor memory) => Cross.call(x, memory);
}
