// Undefined FeedForward activation
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.M055;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 4; public int Kv { get; init; } = 3; public int Ffn { get; init; } = 128; public int Vocab { get; init; } = 256; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [FeedForward(4, 8, Activation = (FeedForwardActivation)99)] partial ModelGen.Nn.FeedForward Ff { get; } //~ MG0112
    Tensor Forward(Tensor x) => x;
}
