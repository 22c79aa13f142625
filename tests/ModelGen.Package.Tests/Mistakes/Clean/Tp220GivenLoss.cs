// A loss of its own given to CreateTraining of a plan that splits the vocabulary: every rank would gather all V logits, uncounted
using ModelGen; using ModelGen.Distributed; using ModelGen.Optimizers; using ModelGen.Training; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Tp220GivenLoss;
public sealed record Cfg { public int Vocab { get; init; } = 32000; public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Layers { get; init; } = 2; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads)), Shard(ShardStyle.Column)] partial nn.Module<Tensor, Tensor> Attn { get; }
    Tensor Forward(Tensor x) => x + Attn.call(x);
}
[Model(typeof(Cfg))]
[ParallelPlan(TensorParallel = 2)]
[VramBudget(80, SequenceLength = 1024)]
public partial class Lm
{
    [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden)), Shard(ShardStyle.Vocab)] partial nn.Module<Tensor, Tensor> Embed { get; }
    [Stack(nameof(Cfg.Layers))] partial ModuleList<Block> Blocks { get; }
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab), Bias = false), Shard(ShardStyle.Column)] partial nn.Module<Tensor, Tensor> Head { get; }
    Tensor Forward(Tensor tokens) { var x = Embed.call(tokens); foreach (var b in Blocks) x = b.call(x); return Head.call(x); }
}
public static class Training
{
    public static PlanTraining Start(ProcessGroup world) => Lm.CreateTraining(new Cfg(), world, (p, s) => new ModelGen.Optimizers.AdamW(p, learningRate: 1e-3, settings: s),
        (output, target) => nn.functional.cross_entropy(output.flatten(0, 1), target.flatten())); //~ MG0220
}
