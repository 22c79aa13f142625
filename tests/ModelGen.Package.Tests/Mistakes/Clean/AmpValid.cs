// Valid: mixed precision with Linear, LayerNorm, Dropout, Attention and FeedForward blocks, and Compute equal to the storage dtype (no mixed precision)
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.AmpValid;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Ffn { get; init; } = 128; public int Heads { get; init; } = 4; }
[Layer(typeof(Cfg)), Precision(DType.Float32, Compute = DType.Float16)]
public partial class Block
{
    [LayerNorm(nameof(Cfg.Hidden))] partial LayerNorm Norm { get; }
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Ffn))] partial AutocastLinear Up { get; }
    [Linear(nameof(Cfg.Ffn), nameof(Cfg.Hidden))] partial nn.Module<Tensor, Tensor> Down { get; }
    [Dropout(0.1)] partial Dropout Drop { get; }
    Tensor Forward(Tensor x) => x + Drop.call(Down.call(nn.functional.relu(Up.call(Norm.call(x)))));
}
[Layer(typeof(Cfg)), Precision(DType.BFloat16, Compute = DType.BFloat16)]
public partial class Plain
{
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Proj { get; }
    Tensor Forward(Tensor x) => Proj.call(x);
}
[Layer(typeof(Cfg)), Precision(DType.Float32, Compute = DType.BFloat16)]
public partial class Transformer
{
    [LayerNorm(nameof(Cfg.Hidden))] partial LayerNorm Ln1 { get; }
    [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads))] partial ModelGen.Nn.Attention Attn { get; }
    [LayerNorm(nameof(Cfg.Hidden))] partial LayerNorm Ln2 { get; }
    [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn))] partial ModelGen.Nn.FeedForward Mlp { get; }
    Tensor Forward(Tensor x) { x = x + Attn.call(Ln1.call(x)); return x + Mlp.call(Ln2.call(x)); }
}
