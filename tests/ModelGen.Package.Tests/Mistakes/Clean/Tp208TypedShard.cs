// Sharded block declared as the plain module's type under a tensor-parallel plan
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Tp208TypedShard;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Vocab { get; init; } = 256; }
[Model(typeof(Cfg))]
[ParallelPlan(TensorParallel = 2)]
[VramBudget(24)] //~ MG0208
public partial class Net
{
    [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden)), Shard(ShardStyle.Vocab)] partial nn.Module<Tensor, Tensor> Embed { get; }
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab)), Shard(ShardStyle.Column)] partial Linear Head { get; }
    Tensor Forward(Tensor x) => Head.call(Embed.call(x));
}
