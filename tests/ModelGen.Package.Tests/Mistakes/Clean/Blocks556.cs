// Cross-attention in a layer whose Forward takes one tensor: no way in for the encoder output
using ModelGen; using ModelGen.Nn; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Blocks556;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Layer(typeof(Cfg))]
public partial class DecoderLayer
{
    [CrossAttention(nameof(Cfg.Hidden), nameof(Cfg.Heads))] partial CrossAttention Cross { get; } //~ MG0556
    Tensor Forward(Tensor x) => x;
}
