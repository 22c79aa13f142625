// A sharded model under a tensor-parallel plan that contains itself: its shell and the plan's generated CreateTraining still compile
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Tp119ShardedSelf;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Vocab { get; init; } = 256; }
[Model(typeof(Cfg))]
[ParallelPlan(TensorParallel = 2)]
public partial class Net //~ MG0119
{
    [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden)), Shard(ShardStyle.Vocab)] partial nn.Module<Tensor, Tensor> Embed { get; }
    [Sublayer] partial Net Again { get; }
    Tensor Forward(Tensor x) => Embed.call(x);
}
