using ModelGen.Nn;
using ModelGen.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Adapters;

/// <summary>
/// A decoder-like block built from ModelGen's Attention and FeedForward, which hold their projections in readonly fields: the
/// case module surgery by replacement cannot reach and in-place adapters must.
/// </summary>
internal sealed class TinyBlock : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "self_attn")]
    private readonly Attention _attention;
    [ComponentName(Name = "mlp")]
    private readonly FeedForward _mlp;

    public TinyBlock(long hidden = 32, long heads = 4, long inner = 64) : base(nameof(TinyBlock))
    {
        _attention = new Attention(hidden, heads, heads / 2, causal: true, fused: false);
        _mlp = new FeedForward(hidden, inner, FeedForwardActivation.SwiGlu, bias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input + _attention.call(input);
        return scope.MoveToOuter(x + _mlp.call(x));
    }
}

/// <summary>A tiny classifier whose two projections are quantized: the QLoRA fine-tuning case.</summary>
internal sealed class TinyQuantizedClassifier : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "up_proj")]
    private readonly QuantizedLinear _up;
    [ComponentName(Name = "down_proj")]
    private readonly QuantizedLinear _down;
    [ComponentName(Name = "head")]
    private readonly Linear _head;

    public TinyQuantizedClassifier(QuantKind kind, long features = 64, long inner = 128, long classes = 4) : base(nameof(TinyQuantizedClassifier))
    {
        _up = new QuantizedLinear(features, inner, hasBias: true, kind);
        _down = new QuantizedLinear(inner, features, hasBias: true, kind);
        _head = nn.Linear(features, classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.gelu(_up.call(input));
        return scope.MoveToOuter(_head.call(_down.call(h)));
    }
}
