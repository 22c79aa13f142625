// A stack of layers that read Ffn-wide inputs fed Hidden-wide embeddings
using ModelGen; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
namespace Mistakes.Clean.FwdShape09;
public sealed record Cfg { public int Hidden { get; init; } = 64; public int Ffn { get; init; } = 256; public int Layers { get; init; } = 2; public int Vocab { get; init; } = 1000; }
[Layer(typeof(Cfg))]
public partial class Block
{
    [Linear(nameof(Cfg.Ffn), nameof(Cfg.Hidden))] partial Linear Down { get; }
    Tensor Forward(Tensor x) => Down.call(x);
}

[Model(typeof(Cfg))]
public partial class Net
{
    [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden))] partial Embedding Embed { get; }
    [Stack(nameof(Cfg.Layers))] partial ModuleList<Block> Blocks { get; }
    Tensor Forward(Tensor tokens)
    {
        var x = Embed.call(tokens);
        foreach (var block in Blocks)
            x = block.call(x); //~ MG0505
        return x;
    }
}
