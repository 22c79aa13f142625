using System;
using System.Linq;
using ModelGen.Adapters;
using ModelGen.Quantization;
using ModelGen.Runtime.Tests.Nn;
using TorchSharp.Modules;
using ModelGen.Runtime.Tests.Quantization;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Adapters;

/// <summary>The adapter math of one layer: identity at creation, the QLoRA forward, merge and unmerge.</summary>
public sealed class LoraLinearTests
{
    private static readonly LoraOptions Options = new() { Rank = 4, Alpha = 8 };

    private static void RandomizeB(LoraAdapter adapter, long seed)
    {
        using var noGrad = no_grad();
        using var b = randn(adapter.lora_B.weight!.shape, generator: new Generator((ulong)seed)).mul_(0.1);
        adapter.lora_B.weight!.copy_(b);
    }

    [Fact]
    public void With_B_zero_the_output_is_exactly_the_base_output()
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        manual_seed(1);
        var linear = nn.Linear(24, 16);
        using var x = randn(3, 5, 24);
        using var expected = linear.call(x);
        var lora = new LoraLinear(linear, Options);
        using var actual = lora.call(x);

        Assert.True(QuantTestData.Identical(actual, expected));
    }

    [Theory]
    [InlineData(QuantKind.Int8)]
    [InlineData(QuantKind.Int4)]
    [InlineData(QuantKind.NF4)]
    public void With_B_zero_a_quantized_base_output_is_exact_too(QuantKind kind)
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        manual_seed(2);
        var quantized = new QuantizedLinear(128, 32, hasBias: true, kind);
        using var x = randn(4, 128);
        var lora = new LoraLinear(quantized, Options);
        // The frozen base, as LoRA leaves it: with nothing to differentiate it takes the packed inference kernels, whose
        // rounding differs from the training path's dequantized matmul, so the base is compared in the same state.
        using var expected = quantized.call(x);
        using var actual = lora.call(x);

        Assert.True(QuantTestData.Identical(actual, expected));
    }

    [Fact]
    public void A_is_kaiming_uniform_with_a_sqrt5_and_B_is_zero()
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        manual_seed(3);
        var lora = new LoraLinear(nn.Linear(400, 300), new LoraOptions { Rank = 64, Alpha = 16 });
        // kaiming_uniform(a = √5) on fan_in = 400: bound = √(6 / ((1 + 5)·400)) = 1/√400 = 0.05; a uniform has std bound/√3.
        var a = lora.Adapter.lora_A.weight!;
        Assert.Equal(new long[] { 64, 400 }, a.shape);
        Assert.True(a.abs().max().item<float>() <= 0.05f);
        Assert.InRange(a.std().item<float>(), 0.05 / Math.Sqrt(3) * 0.97, 0.05 / Math.Sqrt(3) * 1.03);
        Assert.Equal(0f, lora.Adapter.lora_B.weight!.abs().max().item<float>());
        Assert.Equal(0.25, lora.Adapter.Scaling);
    }

    [Theory]
    [InlineData(QuantKind.Int8)]
    [InlineData(QuantKind.Int4)]
    [InlineData(QuantKind.NF4)]
    public void The_qlora_forward_equals_dequantize_then_lora(QuantKind kind)
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        manual_seed(4);
        var quantized = new QuantizedLinear(128, 64, hasBias: true, kind);
        var lora = new LoraLinear(quantized, Options);
        RandomizeB(lora.Adapter, 40);
        using var x = randn(2, 7, 128);

        using var weight = quantized.Dequantize();
        var a = lora.Adapter.lora_A.weight!;
        var b = lora.Adapter.lora_B.weight!;
        using var expected = nn.functional.linear(x, weight, quantized.bias) + x.matmul(a.t()).matmul(b.t()) * lora.Adapter.Scaling;
        using var actual = lora.call(x);

        TensorAssert.Close(expected, actual, atol: 1e-5, rtol: 1e-5);
    }

    [Fact]
    public void Merged_equals_unmerged_and_unmerge_restores_the_base()
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        manual_seed(5);
        var linear = nn.Linear(48, 40);
        using var original = linear.weight!.detach().clone();
        var lora = new LoraLinear(linear, Options);
        RandomizeB(lora.Adapter, 50);
        using var x = randn(6, 48);
        using var unmerged = lora.call(x);

        lora.Merge();
        Assert.True(lora.Adapter.Merged);
        using var merged = lora.call(x);
        TensorAssert.Close(unmerged, merged, atol: 1e-5, rtol: 1e-5);

        lora.Unmerge();
        Assert.False(lora.Adapter.Merged);
        // W + Δ − Δ in fp32: each element comes back within a few ulps of |W| + |Δ| (≈ 0.2 here).
        TensorAssert.Close(original, linear.weight!, atol: 1e-7);
        using var again = lora.call(x);
        TensorAssert.Close(unmerged, again, atol: 1e-6);
    }

    [Fact]
    public void A_quantized_base_refuses_merge_but_exports_a_dense_merged_linear()
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        manual_seed(6);
        var quantized = new QuantizedLinear(64, 32, hasBias: true, QuantKind.NF4);
        var lora = new LoraLinear(quantized, Options);
        RandomizeB(lora.Adapter, 60);
        using var x = randn(5, 64);
        using var expected = lora.call(x);

        var error = Assert.Throws<InvalidOperationException>(() => lora.Merge());
        Assert.Contains("MergedWeight", error.Message);

        var export = lora.ToMergedLinear();
        Assert.Equal(ScalarType.Float32, export.weight!.dtype);
        using var actual = export.call(x);
        TensorAssert.Close(expected, actual, atol: 1e-5, rtol: 1e-5);
    }

    [Fact]
    public void A_lora_linear_inside_a_model_exports_as_a_plain_linear_under_its_own_path()
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        manual_seed(8);
        var lora = new LoraLinear(new QuantizedLinear(64, 16, hasBias: true, QuantKind.Int4, groupSize: 32), Options);
        RandomizeB(lora.Adapter, 80);
        var model = nn.Sequential(("proj", (nn.Module<Tensor, Tensor>)lora));
        Assert.Equal("proj", LoRA.Adapters(model).Single().Path);
        Assert.Contains("proj.base_layer.weight_scale", model.state_dict().Keys);

        var export = LoRA.MergedStateDict(model);
        Assert.Equal(new[] { "proj.bias", "proj.weight" }, export.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray());
        var plain = nn.Sequential(("proj", (nn.Module<Tensor, Tensor>)nn.Linear(64, 16)));
        plain.load_state_dict(export);
        using var x = randn(3, 64);
        using var expected = model.call(x);
        using var actual = plain.call(x);
        TensorAssert.Close(expected, actual, atol: 1e-5, rtol: 1e-5);
    }

    [Fact]
    public void Dropout_acts_on_the_adapter_input_in_training_only()
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        manual_seed(7);
        var linear = nn.Linear(32, 32);
        var lora = new LoraLinear(linear, Options with { Dropout = 0.5 });
        RandomizeB(lora.Adapter, 70);
        using var x = randn(8, 32);
        lora.eval();
        using var first = lora.call(x);
        using var second = lora.call(x);
        Assert.True(QuantTestData.Identical(first, second));

        lora.train();
        using var dropped = lora.call(x);
        Assert.True(TensorAssert.MaxDifference(first, dropped) > 1e-3);
        // The base path is never dropped: with B = 0 training mode gives the base output.
        using (no_grad())
            lora.Adapter.lora_B.weight!.zero_();
        using var baseOnly = linear.call(x);
        using var trainedZero = lora.call(x);
        Assert.True(QuantTestData.Identical(trainedZero, baseOnly));
    }

    [Fact]
    public void Bad_options_and_bases_are_refused_with_their_values()
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        Assert.Contains("rank", Assert.Throws<ArgumentException>(() => new LoraLinear(nn.Linear(4, 4), new LoraOptions { Rank = 0 })).Message);
        Assert.Contains("dropout", Assert.Throws<ArgumentException>(() => new LoraLinear(nn.Linear(4, 4), new LoraOptions { Dropout = 1 })).Message);
        Assert.Contains("Embedding", Assert.Throws<ArgumentException>(() => LoRA.Attach(nn.Embedding(4, 4).AsLinearLike(), Options)).Message);
    }
}

internal static class ModuleCasts
{
    /// <summary>An Embedding is a Module&lt;Tensor, Tensor&gt; too: the attach path must refuse it by type.</summary>
    public static TorchSharp.torch.nn.Module<Tensor, Tensor> AsLinearLike(this Embedding embedding) => embedding;
}
