// An inference budget estimated with sequence parallelism: cached decoding runs whole sequences (a step is one token)
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Tp211SequenceDecoding;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Layers { get; init; } = 2; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads)), Shard(ShardStyle.Column)] partial nn.Module<Tensor, Tensor> Attn { get; }
    Tensor Forward(Tensor x) => x + Attn.call(x);
}
[Model(typeof(Cfg))]
[VramBudget(24, SequenceLength = 1024, Workload = Workload.Inference, TensorParallel = 2, SequenceParallel = true)] //~ MG0211
public partial class Net
{
    [Stack(nameof(Cfg.Layers))] partial ModuleList<Block> Blocks { get; }
    Tensor Forward(Tensor x) { foreach (var b in Blocks) x = b.call(x); return x; }
}
