using System;
using System.Linq;
using ModelGen.Adapters;
using ModelGen.Runtime.Tests.Nn;
using ModelGen.Runtime.Tests.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Adapters;

/// <summary>Adapters added in place to the projections ModelGen's Attention and FeedForward keep in readonly fields.</summary>
public sealed class LoraApplyTests
{
    internal static readonly LoraOptions AttentionAndMlp = new()
    {
        Rank = 4,
        Alpha = 8,
        TargetModules = new[] { "q_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" },
    };

    internal static void RandomizeAllB(TorchSharp.torch.nn.Module model, long seed)
    {
        var generator = new Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach (var (_, adapter) in LoRA.Adapters(model))
        {
            using var b = randn(adapter.lora_B.weight!.shape, generator: generator).mul_(0.1);
            adapter.lora_B.weight!.copy_(b);
        }
    }

    [Fact]
    public void Apply_reaches_projections_held_in_readonly_fields_and_names_them_as_peft()
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        manual_seed(10);
        var block = new TinyBlock();
        using var x = randn(2, 6, 32);
        using var before = block.call(x);

        var added = LoRA.Apply(block, AttentionAndMlp);

        Assert.Equal(
            new[] { "self_attn.q_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj" },
            added.Select(a => a.Path).ToArray());
        using (var unchanged = block.call(x))
            Assert.True(QuantTestData.Identical(unchanged, before));

        RandomizeAllB(block, 11);
        using var after = block.call(x);
        Assert.True(TensorAssert.MaxDifference(before, after) > 1e-3, "the adapters did not take part in the forward");

        var keys = block.state_dict().Keys.ToHashSet();
        Assert.Contains("self_attn.q_proj.weight", keys);
        Assert.Contains("self_attn.q_proj.lora_A.weight", keys);
        Assert.Contains("mlp.down_proj.lora_B.weight", keys);
        Assert.DoesNotContain("self_attn.k_proj.lora_A.weight", keys);
        Assert.Equal("base_model.model.self_attn.q_proj.lora_A.weight", LoRA.PeftKey("self_attn.q_proj", "lora_A"));
    }

    [Fact]
    public void Gradients_reach_only_the_adapters()
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        manual_seed(12);
        var block = new TinyBlock();
        LoRA.Apply(block, AttentionAndMlp);
        RandomizeAllB(block, 13);

        using var x = randn(2, 6, 32);
        using var loss = block.call(x).pow(2).mean();
        loss.backward();

        var adapterWeights = LoRA.Adapters(block).SelectMany(a => new[] { a.Adapter.lora_A.weight!, a.Adapter.lora_B.weight! }).ToList();
        var trainable = LoRA.TrainableParameters(block);
        Assert.Equal(adapterWeights.Count, trainable.Count);
        foreach (var (name, parameter) in block.named_parameters())
        {
            bool isAdapter = name.Contains(".lora_A.", StringComparison.Ordinal) || name.Contains(".lora_B.", StringComparison.Ordinal);
            Assert.Equal(isAdapter, parameter.requires_grad);
            if (isAdapter)
                Assert.True(parameter.grad is not null && parameter.grad.abs().max().item<float>() > 0, $"'{name}' got no gradient");
            else
                Assert.True(parameter.grad is null, $"frozen '{name}' got a gradient");
        }
    }

    [Fact]
    public void Merging_a_block_equals_running_it_unmerged_and_unmerging_restores_its_weights()
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        manual_seed(14);
        var block = new TinyBlock();
        var original = block.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        LoRA.Apply(block, AttentionAndMlp);
        RandomizeAllB(block, 15);
        using var x = randn(2, 6, 32);
        using var unmerged = block.call(x);

        LoRA.Merge(block);
        using var merged = block.call(x);
        TensorAssert.Close(unmerged, merged, atol: 2e-5, rtol: 1e-5);

        // The merged export is a plain block's state_dict: a fresh TinyBlock loads it and gives the same outputs.
        LoRA.Unmerge(block);
        var export = LoRA.MergedStateDict(block);
        Assert.DoesNotContain(export.Keys, k => k.Contains("lora_", StringComparison.Ordinal));
        var plain = new TinyBlock();
        plain.load_state_dict(export);
        using var exported = plain.call(x);
        TensorAssert.Close(unmerged, exported, atol: 2e-5, rtol: 1e-5);

        foreach (var (key, value) in original)
            TensorAssert.Close(value, block.state_dict()[key], atol: 1e-7);
    }

    [Fact]
    public void Targets_that_match_nothing_or_a_non_linear_are_refused_by_name()
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        var block = new TinyBlock();
        var none = Assert.Throws<ArgumentException>(() => LoRA.Apply(block, new LoraOptions { TargetModules = new[] { "query" } }));
        Assert.Contains("self_attn.q_proj", none.Message);
        var wrongType = Assert.Throws<ArgumentException>(() => LoRA.Apply(block, new LoraOptions { TargetModules = new[] { "mlp" } }));
        Assert.Contains("FeedForward", wrongType.Message);

        LoRA.Apply(block, new LoraOptions { TargetPattern = @"self_attn\.(q|v)_proj" });
        Assert.Equal(2, LoRA.Adapters(block).Count);
        var everything = new TinyBlock();
        LoRA.Apply(everything, new LoraOptions { TargetPattern = ".*" });
        Assert.Equal(7, LoRA.Adapters(everything).Count);
        var twice = Assert.Throws<ArgumentException>(() => LoRA.Apply(block, new LoraOptions { TargetModules = new[] { "q_proj" } }));
        Assert.Contains("already", twice.Message);
    }

    [Fact]
    public void After_a_dtype_change_move_adapters_aligns_them_with_their_bases()
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        manual_seed(16);
        var model = new TinyQuantizedClassifier(QuantKind.Int8);
        LoRA.Apply(model, new LoraOptions { Rank = 4, Alpha = 8, TargetModules = new[] { "up_proj", "down_proj" } });
        RandomizeAllB(model, 17);
        using var x = randn(3, 64);
        using var expected = model.call(x);

        model.to(ScalarType.Float64);
        // TorchSharp's Linear and QuantizedLinear do not move children registered on them: the adapters stay float32 …
        Assert.All(LoRA.Adapters(model), a => Assert.Equal(ScalarType.Float32, a.Adapter.lora_A.weight!.dtype));
        LoRA.MoveAdapters(model);
        // … until MoveAdapters follows the bases, keeping them trainable and under their state_dict names.
        Assert.All(LoRA.Adapters(model), a => Assert.Equal(ScalarType.Float64, a.Adapter.lora_B.weight!.dtype));
        Assert.Equal(4, LoRA.TrainableParameters(model).Count);
        Assert.Equal(ScalarType.Float64, model.state_dict()["up_proj.lora_A.weight"].dtype);

        using var x64 = x.to(ScalarType.Float64);
        using var actual = model.call(x64);
        Assert.Equal(ScalarType.Float64, actual.dtype);
        TensorAssert.Close(expected, actual, atol: 1e-5, rtol: 1e-5);
        actual.sum().backward();
        Assert.All(LoRA.Adapters(model), a => Assert.NotNull(a.Adapter.lora_A.weight!.grad));
    }

    [Fact]
    public void A_lora_linear_moves_with_its_module()
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        var lora = new LoraLinear(TorchSharp.torch.nn.Linear(8, 8), new LoraOptions { Rank = 2 });
        lora.to(ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, lora.Adapter.lora_A.weight!.dtype);
        Assert.Equal(ScalarType.Float64, lora.Adapter.lora_B.weight!.dtype);
        using var y = lora.call(randn(2, 8, dtype: ScalarType.Float64));
        Assert.Equal(ScalarType.Float64, y.dtype);
    }
}
