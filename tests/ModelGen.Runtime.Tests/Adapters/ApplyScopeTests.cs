using System;
using System.Linq;
using ModelGen.Adapters;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Adapters;

/// <summary><see cref="LoRA.ApplyScope"/>, the call generated constructors make per [LoRA]: the nearest scope wins.</summary>
public sealed class ApplyScopeTests
{
    /// <summary>Two TinyBlocks (Attention + FeedForward) and an output projection named like an attention one.</summary>
    private sealed class TwoBlocks : nn.Module<Tensor, Tensor>
    {
        [ComponentName(Name = "inner")]
        public readonly TinyBlock Inner;
        [ComponentName(Name = "other")]
        public readonly TinyBlock Other;
        [ComponentName(Name = "q_proj")]
        public readonly Linear Out;

        public TwoBlocks(Func<TinyBlock, TinyBlock> scopeInner) : base(nameof(TwoBlocks))
        {
            Inner = scopeInner(new TinyBlock());
            Other = new TinyBlock();
            Out = nn.Linear(32, 32);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => Out.call(Other.call(Inner.call(input)));
    }

    private static LoraOptions Options(params string[] targets) => new() { Rank = 2, Alpha = 4, TargetModules = targets };

    [Fact]
    public void An_outer_scope_skips_the_layers_of_an_inner_scope_and_freezes_the_rest()
    {
        using var model = new TwoBlocks(block => { LoRA.ApplyScope(block, Options("q_proj")); return block; });
        var added = LoRA.ApplyScope(model, Options("q_proj", "v_proj"));
        Assert.Equal(new[] { "other.self_attn.q_proj", "other.self_attn.v_proj", "q_proj" }, added.Select(a => a.Path).OrderBy(p => p, StringComparer.Ordinal));
        var adapted = LoRA.Adapters(model).Select(a => a.Path).OrderBy(p => p, StringComparer.Ordinal).ToArray();
        // The inner scope keeps its own choice: q_proj only, not the outer scope's v_proj.
        Assert.Equal(new[] { "inner.self_attn.q_proj", "other.self_attn.q_proj", "other.self_attn.v_proj", "q_proj" }, adapted);
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.Equal(8, trainable.Count);
        Assert.All(trainable, name => Assert.Contains(".lora_", name));
    }

    [Fact]
    public void A_scope_without_a_match_or_applied_twice_is_refused()
    {
        using var block = new TinyBlock();
        var none = Assert.Throws<ArgumentException>(() => LoRA.ApplyScope(block, Options("c_attn")));
        Assert.Contains("self_attn.q_proj", none.Message); // lists the scope's Linear layers
        LoRA.ApplyScope(block, Options("q_proj"));
        Assert.Throws<ArgumentException>(() => LoRA.ApplyScope(block, Options("v_proj")));
    }
}
