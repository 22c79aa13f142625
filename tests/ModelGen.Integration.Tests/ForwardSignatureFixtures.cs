using ModelGen;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

/// <summary>Sizes of the BERT-like fixture.</summary>
public sealed record BertLikeConfig
{
    public int Vocab { get; init; } = 40;
    public int Hidden { get; init; } = 16;
    public int Ffn { get; init; } = 32;
    public int Layers { get; init; } = 2;
    public int TypeCount { get; init; } = 2;
}

/// <summary>An encoder layer of two inputs: hidden states and a padding mask (1 real, 0 padding) that zeroes padded positions.</summary>
[Layer(typeof(BertLikeConfig)), Checkpoint]
public partial class MaskedEncoderLayer
{
    [LayerNorm(nameof(BertLikeConfig.Hidden))] public partial LayerNorm Norm { get; }
    [Linear(nameof(BertLikeConfig.Hidden), nameof(BertLikeConfig.Ffn))] public partial Linear Up { get; }
    [Linear(nameof(BertLikeConfig.Ffn), nameof(BertLikeConfig.Hidden))] public partial Linear Down { get; }
    [Dropout(0.25)] public partial Dropout Drop { get; }

    private Tensor Forward(Tensor x, [Input(InputShape.Tokens)] Tensor mask)
    {
        // Mixing along the sequence (a masked mean) makes the mask matter for every position.
        var keep = mask.unsqueeze(-1).to_type(x.dtype);
        var context = (x * keep).sum(1, keepdim: true) / keep.sum(1, keepdim: true).clamp_min(1);
        return x + Drop.call(Down.call(nn.functional.gelu(Up.call(Norm.call(x + context))))) * keep;
    }
}

/// <summary>What the BERT-like model returns: token logits, the pooled first token, and a loss when labels are given.</summary>
public sealed record BertLikeOutput(Tensor Logits, Tensor Pooled)
{
    /// <summary>Mean cross-entropy over the labelled positions; null without labels.</summary>
    public Tensor? Loss { get; init; }

    /// <summary>A non-tensor member the generated forward carries through unchanged.</summary>
    public int LayersRun { get; init; }
}

/// <summary>A BERT-like model: ids, an optional padding mask and optional token types in; a record out.</summary>
[Model(typeof(BertLikeConfig)), Checkpoint]
public partial class BertLike
{
    [Embedding(nameof(BertLikeConfig.Vocab), nameof(BertLikeConfig.Hidden))] public partial Embedding Words { get; }
    [Embedding(nameof(BertLikeConfig.TypeCount), nameof(BertLikeConfig.Hidden))] public partial Embedding Types { get; }
    [Stack(nameof(BertLikeConfig.Layers))] public partial ModuleList<MaskedEncoderLayer> Layers { get; }
    [Linear(nameof(BertLikeConfig.Hidden), nameof(BertLikeConfig.Hidden))] public partial Linear Pooler { get; }
    [Linear(nameof(BertLikeConfig.Hidden), nameof(BertLikeConfig.Vocab))] public partial Linear Head { get; }

    private BertLikeOutput Forward(Tensor ids, [Input(InputShape.Tokens)] Tensor? mask = null,
        [Input(InputShape.Tokens)] Tensor? tokenTypes = null, [Input(InputShape.Tokens)] Tensor? labels = null)
    {
        var padding = mask ?? ones_like(ids);
        var x = Words.call(ids) + Types.call(tokenTypes ?? zeros_like(ids));
        foreach (var layer in Layers)
            x = layer.call(x, padding);
        var logits = Head.call(x);
        var loss = labels is null ? null : nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten());
        return new BertLikeOutput(logits, tanh(Pooler.call(x.select(1, 0)))) { Loss = loss, LayersRun = Layers.Count };
    }
}

/// <summary>A layer with a tuple result whose second member may be null; bf16, so casts apply to its floating input only.</summary>
[Layer(typeof(BertLikeConfig)), Precision(DType.BFloat16), Checkpoint]
public partial class TwoOutputs
{
    [Linear(nameof(BertLikeConfig.Hidden), nameof(BertLikeConfig.Hidden))] public partial Linear Proj { get; }

    private (Tensor Hidden, Tensor? Argmax) Forward(Tensor x, [Input(InputShape.Tokens)] Tensor? select = null)
    {
        var h = Proj.call(x);
        return (h, select is null ? null : h.argmax(-1) + select);
    }
}
