// Attention scores without transposing the keys
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.FwdShape05;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Ffn { get; init; } = 256; public int Layers { get; init; } = 2; public int Vocab { get; init; } = 1000; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Q { get; }
    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear K { get; }
    Tensor Forward(Tensor x)
    {
        var scores = matmul(Q.call(x), K.call(x)); //~ MG0503
        return nn.functional.softmax(scores, -1);
    }
}
