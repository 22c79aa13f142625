// Two-sided relative position bias with 3 buckets (needs 4)
using ModelGen; using ModelGen.Nn; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Blocks557;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Layer(typeof(Cfg))]
public partial class EncoderLayer
{
    [RelativeAttention(nameof(Cfg.Hidden), nameof(Cfg.Heads), Buckets = 3)] partial RelativeAttention Attn { get; } //~ MG0557
    Tensor Forward(Tensor x) => Attn.call(x);
}
