using ModelGen;
using ModelGen.Nn;
using ModelGen.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Benchmarks;

/// <summary>Sizes of the decode benchmark's Llama-style decoders: <see cref="Tiny"/> and <see cref="Medium"/>.</summary>
public sealed record DecodeConfig
{
    public int Vocab { get; init; } = 32000;
    public int Hidden { get; init; } = 1024;
    public int Layers { get; init; } = 8;
    public int Heads { get; init; } = 16;
    public int KvHeads { get; init; } = 4;
    public int Ffn { get; init; } = 2816;

    /// <summary>2 layers, width 128: per-token overheads dominate.</summary>
    public static DecodeConfig Tiny => new() { Vocab = 256, Hidden = 128, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 384 };

    /// <summary>8 layers, width 1024, 32k vocabulary (about 100 M parameters): the weights dominate, as in serving.</summary>
    public static DecodeConfig Medium => new();
}

/// <summary>A decoder layer whose MLP is plain bf16.</summary>
[Layer(typeof(DecodeConfig))]
public partial class Bf16Block
{
    [RmsNorm(nameof(DecodeConfig.Hidden))] public partial RmsNorm AttnNorm { get; }
    [Attention(nameof(DecodeConfig.Hidden), nameof(DecodeConfig.Heads), KvHeads = nameof(DecodeConfig.KvHeads), Rotary = true, Bias = false)]
    public partial Attention Attn { get; }
    [RmsNorm(nameof(DecodeConfig.Hidden))] public partial RmsNorm MlpNorm { get; }
    [Linear(nameof(DecodeConfig.Hidden), nameof(DecodeConfig.Ffn), Bias = false)] public partial Linear Gate { get; }
    [Linear(nameof(DecodeConfig.Hidden), nameof(DecodeConfig.Ffn), Bias = false)] public partial Linear Up { get; }
    [Linear(nameof(DecodeConfig.Ffn), nameof(DecodeConfig.Hidden), Bias = false)] public partial Linear Down { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(AttnNorm.call(x));
        var h = MlpNorm.call(x);
        return x + Down.call(nn.functional.silu(Gate.call(h)) * Up.call(h));
    }
}

/// <summary>The bf16 decoder with plain bf16 MLPs; a decoder, so the generator writes its <c>Generate</c>.</summary>
[Model(typeof(DecodeConfig)), Precision(DType.BFloat16)]
public partial class Bf16Decoder
{
    [Embedding(nameof(DecodeConfig.Vocab), nameof(DecodeConfig.Hidden))] public partial Embedding Embed { get; }
    [Stack(nameof(DecodeConfig.Layers))] public partial ModuleList<Bf16Block> Blocks { get; }
    [RmsNorm(nameof(DecodeConfig.Hidden))] public partial RmsNorm Norm { get; }
    [Linear(nameof(DecodeConfig.Hidden), nameof(DecodeConfig.Vocab), Bias = false)] public partial Linear Head { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = Embed.call(tokens);
        foreach (var block in Blocks)
            x = block.call(x);
        return Head.call(Norm.call(x));
    }
}

/// <summary>A decoder layer whose MLP is int8 (per-channel scales).</summary>
[Layer(typeof(DecodeConfig))]
public partial class Int8Block
{
    [RmsNorm(nameof(DecodeConfig.Hidden))] public partial RmsNorm AttnNorm { get; }
    [Attention(nameof(DecodeConfig.Hidden), nameof(DecodeConfig.Heads), KvHeads = nameof(DecodeConfig.KvHeads), Rotary = true, Bias = false)]
    public partial Attention Attn { get; }
    [RmsNorm(nameof(DecodeConfig.Hidden))] public partial RmsNorm MlpNorm { get; }
    [Linear(nameof(DecodeConfig.Hidden), nameof(DecodeConfig.Ffn), Bias = false), Quantize(QuantKind.Int8)] public partial QuantizedLinear Gate { get; }
    [Linear(nameof(DecodeConfig.Hidden), nameof(DecodeConfig.Ffn), Bias = false), Quantize(QuantKind.Int8)] public partial QuantizedLinear Up { get; }
    [Linear(nameof(DecodeConfig.Ffn), nameof(DecodeConfig.Hidden), Bias = false), Quantize(QuantKind.Int8)] public partial QuantizedLinear Down { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(AttnNorm.call(x));
        var h = MlpNorm.call(x);
        return x + Down.call(nn.functional.silu(Gate.call(h)) * Up.call(h));
    }
}

/// <summary>The bf16 decoder with int8 (per-channel scales) MLPs; a decoder, so the generator writes its <c>Generate</c>.</summary>
[Model(typeof(DecodeConfig)), Precision(DType.BFloat16)]
public partial class Int8Decoder
{
    [Embedding(nameof(DecodeConfig.Vocab), nameof(DecodeConfig.Hidden))] public partial Embedding Embed { get; }
    [Stack(nameof(DecodeConfig.Layers))] public partial ModuleList<Int8Block> Blocks { get; }
    [RmsNorm(nameof(DecodeConfig.Hidden))] public partial RmsNorm Norm { get; }
    [Linear(nameof(DecodeConfig.Hidden), nameof(DecodeConfig.Vocab), Bias = false)] public partial Linear Head { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = Embed.call(tokens);
        foreach (var block in Blocks)
            x = block.call(x);
        return Head.call(Norm.call(x));
    }
}

/// <summary>A decoder layer whose MLP is int4 (group 128).</summary>
[Layer(typeof(DecodeConfig))]
public partial class Int4Block
{
    [RmsNorm(nameof(DecodeConfig.Hidden))] public partial RmsNorm AttnNorm { get; }
    [Attention(nameof(DecodeConfig.Hidden), nameof(DecodeConfig.Heads), KvHeads = nameof(DecodeConfig.KvHeads), Rotary = true, Bias = false)]
    public partial Attention Attn { get; }
    [RmsNorm(nameof(DecodeConfig.Hidden))] public partial RmsNorm MlpNorm { get; }
    [Linear(nameof(DecodeConfig.Hidden), nameof(DecodeConfig.Ffn), Bias = false), Quantize(QuantKind.Int4, GroupSize = 128)] public partial QuantizedLinear Gate { get; }
    [Linear(nameof(DecodeConfig.Hidden), nameof(DecodeConfig.Ffn), Bias = false), Quantize(QuantKind.Int4, GroupSize = 128)] public partial QuantizedLinear Up { get; }
    [Linear(nameof(DecodeConfig.Ffn), nameof(DecodeConfig.Hidden), Bias = false), Quantize(QuantKind.Int4, GroupSize = 128)] public partial QuantizedLinear Down { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(AttnNorm.call(x));
        var h = MlpNorm.call(x);
        return x + Down.call(nn.functional.silu(Gate.call(h)) * Up.call(h));
    }
}

/// <summary>The bf16 decoder with int4 (group 128) MLPs; a decoder, so the generator writes its <c>Generate</c>.</summary>
[Model(typeof(DecodeConfig)), Precision(DType.BFloat16)]
public partial class Int4Decoder
{
    [Embedding(nameof(DecodeConfig.Vocab), nameof(DecodeConfig.Hidden))] public partial Embedding Embed { get; }
    [Stack(nameof(DecodeConfig.Layers))] public partial ModuleList<Int4Block> Blocks { get; }
    [RmsNorm(nameof(DecodeConfig.Hidden))] public partial RmsNorm Norm { get; }
    [Linear(nameof(DecodeConfig.Hidden), nameof(DecodeConfig.Vocab), Bias = false)] public partial Linear Head { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = Embed.call(tokens);
        foreach (var block in Blocks)
            x = block.call(x);
        return Head.call(Norm.call(x));
    }
}

/// <summary>A decoder layer whose MLP is NF4 (block 64).</summary>
[Layer(typeof(DecodeConfig))]
public partial class Nf4Block
{
    [RmsNorm(nameof(DecodeConfig.Hidden))] public partial RmsNorm AttnNorm { get; }
    [Attention(nameof(DecodeConfig.Hidden), nameof(DecodeConfig.Heads), KvHeads = nameof(DecodeConfig.KvHeads), Rotary = true, Bias = false)]
    public partial Attention Attn { get; }
    [RmsNorm(nameof(DecodeConfig.Hidden))] public partial RmsNorm MlpNorm { get; }
    [Linear(nameof(DecodeConfig.Hidden), nameof(DecodeConfig.Ffn), Bias = false), Quantize(QuantKind.NF4, GroupSize = 64)] public partial QuantizedLinear Gate { get; }
    [Linear(nameof(DecodeConfig.Hidden), nameof(DecodeConfig.Ffn), Bias = false), Quantize(QuantKind.NF4, GroupSize = 64)] public partial QuantizedLinear Up { get; }
    [Linear(nameof(DecodeConfig.Ffn), nameof(DecodeConfig.Hidden), Bias = false), Quantize(QuantKind.NF4, GroupSize = 64)] public partial QuantizedLinear Down { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(AttnNorm.call(x));
        var h = MlpNorm.call(x);
        return x + Down.call(nn.functional.silu(Gate.call(h)) * Up.call(h));
    }
}

/// <summary>The bf16 decoder with NF4 (block 64) MLPs; a decoder, so the generator writes its <c>Generate</c>.</summary>
[Model(typeof(DecodeConfig)), Precision(DType.BFloat16)]
public partial class Nf4Decoder
{
    [Embedding(nameof(DecodeConfig.Vocab), nameof(DecodeConfig.Hidden))] public partial Embedding Embed { get; }
    [Stack(nameof(DecodeConfig.Layers))] public partial ModuleList<Nf4Block> Blocks { get; }
    [RmsNorm(nameof(DecodeConfig.Hidden))] public partial RmsNorm Norm { get; }
    [Linear(nameof(DecodeConfig.Hidden), nameof(DecodeConfig.Vocab), Bias = false)] public partial Linear Head { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = Embed.call(tokens);
        foreach (var block in Blocks)
            x = block.call(x);
        return Head.call(Norm.call(x));
    }
}
