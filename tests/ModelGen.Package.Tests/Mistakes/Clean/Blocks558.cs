// MaxDistance not beyond the 8 exact offsets of 32 two-sided buckets
using ModelGen; using ModelGen.Nn; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Blocks558;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Layer(typeof(Cfg))]
public partial class EncoderLayer
{
    [RelativeAttention(nameof(Cfg.Hidden), nameof(Cfg.Heads), MaxDistance = 8)] partial RelativeAttention Attn { get; } //~ MG0558
    Tensor Forward(Tensor x) => Attn.call(x);
}
