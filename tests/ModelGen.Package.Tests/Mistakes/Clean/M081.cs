// ZeRO without data parallel
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.M081;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Kv { get; init; } = 3; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Model(typeof(Cfg))]
[VramBudget(24, ZeroStage = 1)] //~ MG0205
public partial class Net
{
    [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden))] partial Embedding Embed { get; }
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab)), Shard(ShardStyle.Column)] partial Linear Head { get; }
    Tensor Forward(Tensor x) => x;
}
