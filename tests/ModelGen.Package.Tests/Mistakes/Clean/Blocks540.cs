// Budget longer than the learned position table
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.Blocks540;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Kv { get; init; } = 3; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Model(typeof(Cfg))]
[VramBudget(24, SequenceLength = 2048)] //~ MG0540
public partial class Gpt
{
    [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden))] partial Embedding Wte { get; }
    [Embedding(1024, nameof(Cfg.Hidden), Role = EmbeddingRole.Positions)] partial Embedding Wpe { get; }
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab))] partial Linear Head { get; }
    Tensor Forward(Tensor x) => x;
}
