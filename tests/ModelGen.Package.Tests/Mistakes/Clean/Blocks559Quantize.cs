// [Quantize] on a relative-attention block: its projections have no quantized form
using ModelGen; using ModelGen.Nn; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Blocks559Quantize;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Layer(typeof(Cfg))]
public partial class EncoderLayer
{
    [RelativeAttention(nameof(Cfg.Hidden), nameof(Cfg.Heads)), Quantize(QuantKind.Int8)] partial RelativeAttention Attn { get; } //~ MG0301
    Tensor Forward(Tensor x) => Attn.call(x);
}
