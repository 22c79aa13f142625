// Sequence parallelism over a sequence the tensor-parallel degree does not divide: the ranks' shards would be unequal
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Tp210SequenceUneven;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Layers { get; init; } = 2; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads)), Shard(ShardStyle.Column)] partial nn.Module<Tensor, Tensor> Attn { get; }
    Tensor Forward(Tensor x) => x + Attn.call(x);
}
[Model(typeof(Cfg))]
[ParallelPlan(TensorParallel = 2, SequenceParallel = true)]
[VramBudget(24, SequenceLength = 1025)] //~ MG0210
public partial class Net
{
    [Stack(nameof(Cfg.Layers))] partial ModuleList<Block> Blocks { get; }
    Tensor Forward(Tensor x) { foreach (var b in Blocks) x = b.call(x); return x; }
}
