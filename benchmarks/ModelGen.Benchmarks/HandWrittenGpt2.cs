using System;
using System.Linq;
using Gpt2Sample;
using ModelGen.Nn;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace ModelGen.Benchmarks;

/// <summary>
/// The GPT-2 block of samples/Gpt2 written by hand the way a TorchSharp user would: the same modules built with the same
/// arguments, registered under the same state_dict names, and a plain forward (no per-layer dispose scope, no precision cast,
/// no checkpoint switch). The baseline the generated <see cref="Gpt2Block"/> is timed against.
/// </summary>
public sealed class HandWrittenGpt2Block : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "ln_1")] private readonly LayerNorm _ln1;
    [ComponentName(Name = "attn")] private readonly Attention _attn;
    [ComponentName(Name = "ln_2")] private readonly LayerNorm _ln2;
    [ComponentName(Name = "mlp")] private readonly FeedForward _mlp;
    [ComponentName(Name = "resid_drop")] private readonly Dropout _residDrop;

    public HandWrittenGpt2Block(Gpt2Config config) : base(nameof(HandWrittenGpt2Block))
    {
        ArgumentNullException.ThrowIfNull(config);
        _ln1 = nn.LayerNorm(config.Hidden, eps: 1e-5, bias: true);
        _attn = new Attention(config.Hidden, config.Heads, config.Heads, causal: true, fused: false, bias: true, dropout: 0.1);
        _ln2 = nn.LayerNorm(config.Hidden, eps: 1e-5, bias: true);
        _mlp = new FeedForward(config.Hidden, config.Ffn, FeedForwardActivation.Gelu, bias: true);
        _residDrop = nn.Dropout(0.1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = x + _residDrop.call(_attn.call(_ln1.call(x)));
        return x + _residDrop.call(_mlp.call(_ln2.call(x)));
    }
}

/// <summary>The GPT-2 model of samples/Gpt2 written by hand, with the output head tied to the token embedding.</summary>
public sealed class HandWrittenGpt2 : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "wte")] private readonly Embedding _wte;
    [ComponentName(Name = "wpe")] private readonly Embedding _wpe;
    [ComponentName(Name = "drop")] private readonly Dropout _drop;
    [ComponentName(Name = "h")] private readonly ModuleList<HandWrittenGpt2Block> _h;
    [ComponentName(Name = "ln_f")] private readonly LayerNorm _lnF;
    [ComponentName(Name = "lm_head")] private readonly Linear _lmHead;

    public HandWrittenGpt2(Gpt2Config config) : base(nameof(HandWrittenGpt2))
    {
        ArgumentNullException.ThrowIfNull(config);
        _wte = nn.Embedding(config.Vocab, config.Hidden);
        _wpe = nn.Embedding(config.Context, config.Hidden);
        _drop = nn.Dropout(0.1);
        _h = nn.ModuleList(Enumerable.Range(0, config.Layers).Select(_ => new HandWrittenGpt2Block(config)).ToArray());
        _lnF = nn.LayerNorm(config.Hidden, eps: 1e-5, bias: true);
        _lmHead = nn.Linear(config.Hidden, config.Vocab, hasBias: false);
        _lmHead.weight = _wte.weight!;
        RegisterComponents();
    }

    public override Tensor forward(Tensor tokens)
    {
        var positions = torch.arange(tokens.shape[^1], dtype: ScalarType.Int64, device: tokens.device);
        var x = _drop.call(_wte.call(tokens) + _wpe.call(positions));
        foreach (var block in _h)
            x = block.call(x);
        return _lmHead.call(_lnF.call(x));
    }
}
