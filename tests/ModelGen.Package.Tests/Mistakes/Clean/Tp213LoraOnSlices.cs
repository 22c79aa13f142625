// LoRA adapters on a sharded attention: at TensorParallel = 2 its q_proj and v_proj are column-parallel slices, which LoRA does not adapt
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Tp213LoraOnSlices;
public sealed record Cfg { public int Hidden { get; init; } = 256; public int Heads { get; init; } = 4; public int Layers { get; init; } = 2; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads)), Shard(ShardStyle.Column)] partial nn.Module<Tensor, Tensor> Attn { get; }
    Tensor Forward(Tensor x) => x + Attn.call(x);
}
[Model(typeof(Cfg)), LoRA(8, "q_proj", "v_proj")]
[VramBudget(24, SequenceLength = 1024, TensorParallel = 2)] //~ MG0213
public partial class Net
{
    [Stack(nameof(Cfg.Layers))] partial ModuleList<Block> Blocks { get; }
    Tensor Forward(Tensor x) { foreach (var b in Blocks) x = b.call(x); return x; }
}
