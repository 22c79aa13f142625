// A sharded, int4-quantized attention at a degree that leaves partial groups on a rank: o_proj holds 256/4 = 64 input features per rank, and groups are 128
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Tp212QuantizedSlice;
public sealed record Cfg { public int Hidden { get; init; } = 256; public int Heads { get; init; } = 4; public int Layers { get; init; } = 2; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads)), Shard(ShardStyle.Column), Quantize(QuantKind.Int4, GroupSize = 128)] partial nn.Module<Tensor, Tensor> Attn { get; }
    Tensor Forward(Tensor x) => x + Attn.call(x);
}
[Model(typeof(Cfg))]
[VramBudget(24, SequenceLength = 1024, Workload = Workload.Inference, TensorParallel = 4)] //~ MG0212
public partial class Net
{
    [Stack(nameof(Cfg.Layers))] partial ModuleList<Block> Blocks { get; }
    Tensor Forward(Tensor x) { foreach (var b in Blocks) x = b.call(x); return x; }
}
