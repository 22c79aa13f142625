// [LoRA] on an Attention property naming a projection the block does not have
using ModelGen; using ModelGen.Nn; using TorchSharp; using static TorchSharp.torch;
namespace Mistakes.Clean.Q309;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads)), LoRA(8, "q_proj", "gate_proj")] partial Attention Attn { get; } //~ MG0309
    Tensor Forward(Tensor x) => Attn.call(x);
}
