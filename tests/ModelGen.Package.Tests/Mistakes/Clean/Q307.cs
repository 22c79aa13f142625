// [Quantize] and [Shard] together on an Attention block
using ModelGen; using ModelGen.Nn; using TorchSharp; using static TorchSharp.torch;
namespace Mistakes.Clean.Q307;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads)), Shard(ShardStyle.Column), Quantize(QuantKind.NF4)] partial Attention Attn { get; } //~ MG0307
    Tensor Forward(Tensor x) => Attn.call(x);
}
