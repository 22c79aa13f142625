// GatheredLogits on a plan whose model has no vocab-parallel head: nothing is gathered, the opt-in has no effect
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Tp221GatheredLogitsNoHead;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Layers { get; init; } = 2; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads)), Shard(ShardStyle.Column)] partial nn.Module<Tensor, Tensor> Attn { get; }
    Tensor Forward(Tensor x) => x + Attn.call(x);
}
[Model(typeof(Cfg))]
[ParallelPlan(TensorParallel = 2, GatheredLogits = true)] //~ MG0221
[VramBudget(24, SequenceLength = 1024)]
public partial class Net
{
    [Stack(nameof(Cfg.Layers))] partial ModuleList<Block> Blocks { get; }
    Tensor Forward(Tensor x) { foreach (var b in Blocks) x = b.call(x); return x; }
}
