// An unsharded attention next to sharded blocks, with sequence parallelism: it would attend over a shard of the sequence
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Tp209ReplicatedAttention;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Ffn { get; init; } = 128; }
[Model(typeof(Cfg))]
[VramBudget(24, TensorParallel = 2, SequenceParallel = true)] //~ MG0209
public partial class Net
{
    [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads))] partial ModelGen.Nn.Attention Attn { get; }
    [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn)), Shard(ShardStyle.Column)] partial nn.Module<Tensor, Tensor> Mlp { get; }
    Tensor Forward(Tensor x) => x + Mlp.call(x + Attn.call(x));
}
