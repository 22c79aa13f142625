using System;
using System.Linq;
using ModelGen.Adapters;
using ModelGen.Inference;
using ModelGen.Nn;
using ModelGen.Quantization;
using ModelGen.Runtime.Tests.Nn;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Quantization;

/// <summary>
/// [Quantize] on Attention and FeedForward blocks (issue 13): their projections become QuantizedLinear, the block computes what the
/// same block with the dequantized weights computes, and LoRA adapters attach to the quantized projections (QLoRA on attention and MLP).
/// </summary>
public sealed class QuantizedBlockTests
{
    public static TheoryData<QuantKind, int, bool> Formats => new()
    {
        { QuantKind.Int8, 0, false },
        { QuantKind.Int4, 32, false },
        { QuantKind.NF4, 64, false },
        { QuantKind.NF4, 64, true },
    };

    private static readonly string[] AttentionProjections = { "q_proj", "k_proj", "v_proj", "o_proj" };
    private static readonly string[] MlpProjections = { "gate_proj", "up_proj", "down_proj" };

    /// <summary>Copies every quantized projection, dequantized, into the dense twin's Linear of the same name.</summary>
    private static void CopyDequantized(Func<string, nn.Module<Tensor, Tensor>> quantized, Func<string, nn.Module<Tensor, Tensor>> dense, string[] names)
    {
        using var noGrad = no_grad();
        foreach (var name in names)
        {
            var q = Assert.IsType<QuantizedLinear>(quantized(name));
            var d = Assert.IsType<Linear>(dense(name));
            using var w = q.Dequantize();
            d.weight!.copy_(w);
            if (q.bias is not null)
                d.bias!.copy_(q.bias);
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void A_quantized_attention_equals_the_attention_with_dequantized_weights(QuantKind kind, int group, bool doubleQuant)
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var quantize = new ProjectionQuantization(kind, group, doubleQuant);
        var quantized = new Attention(64, 4, 2, rotary: true, fused: false, bias: true, quantize: quantize);
        var dense = new Attention(64, 4, 2, rotary: true, fused: false, bias: true);
        CopyDequantized(quantized.Projection, dense.Projection, AttentionProjections);
        Assert.Same(quantize, quantized.Quantization);
        Assert.Null(dense.Quantization);

        var x = randn(2, 5, 64);
        using (no_grad())
            TensorAssert.Close(dense.call(x), quantized.call(x), atol: 1e-5, rtol: 1e-4); // inference: packed kernels or row tiles

        var xg = x.clone().requires_grad_(true);
        var y = quantized.call(xg); // training: QuantizedLinearFunction
        TensorAssert.Close(dense.call(x), y, atol: 1e-5, rtol: 1e-4);
        y.square().sum().backward();
        var xd = x.clone().requires_grad_(true);
        dense.call(xd).square().sum().backward();
        TensorAssert.Close(xd.grad!, xg.grad!, atol: 1e-4, rtol: 1e-3);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void A_quantized_feed_forward_equals_the_feed_forward_with_dequantized_weights(QuantKind kind, int group, bool doubleQuant)
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var quantize = new ProjectionQuantization(kind, group, doubleQuant);
        var quantized = new FeedForward(64, 128, FeedForwardActivation.SwiGlu, bias: true, quantize: quantize);
        var dense = new FeedForward(64, 128, FeedForwardActivation.SwiGlu, bias: true);
        CopyDequantized(quantized.Projection, dense.Projection, MlpProjections);

        var x = randn(3, 4, 64);
        using (no_grad())
            TensorAssert.Close(dense.call(x), quantized.call(x), atol: 1e-5, rtol: 1e-4);
        TensorAssert.Close(dense.call(x), quantized.call(x.requires_grad_(true)), atol: 1e-5, rtol: 1e-4);
    }

    [Fact]
    public void Quantized_projections_store_their_format_under_the_projection_names_and_hold_no_trainable_weight()
    {
        using var scope = NewDisposeScope();
        var attention = new Attention(64, 4, 2, quantize: new ProjectionQuantization(QuantKind.NF4));
        var mlp = new FeedForward(64, 128, FeedForwardActivation.Gelu, bias: false, quantize: new ProjectionQuantization(QuantKind.Int8));

        var keys = attention.state_dict().Keys.ToHashSet();
        foreach (var name in AttentionProjections)
        {
            Assert.Contains($"{name}.weight", keys);
            Assert.Contains($"{name}.weight_absmax", keys);
        }
        Assert.Equal(ScalarType.Byte, attention.state_dict()["q_proj.weight"].dtype);
        Assert.Equal(ScalarType.Int8, mlp.state_dict()["up_proj.weight"].dtype);
        Assert.Empty(attention.parameters());
        Assert.Empty(mlp.parameters());
        var k = Assert.IsType<QuantizedLinear>(attention.Projection("k_proj"));
        Assert.Equal(QuantLayout.WeightBytes(QuantKind.NF4, 64, false, 64, 32), k.StoredBytes);
        Assert.Equal(ScalarType.Float32, attention.ProjectionDtype);
    }

    [Fact]
    public void The_dense_accessors_and_bad_names_say_what_is_wrong()
    {
        using var scope = NewDisposeScope();
        var attention = new Attention(64, 4, 2, quantize: new ProjectionQuantization(QuantKind.Int8));
        var mlp = new FeedForward(64, 128, FeedForwardActivation.Gelu, quantize: new ProjectionQuantization(QuantKind.Int8));
        var error = Assert.Throws<InvalidOperationException>(() => attention.q_proj);
        Assert.Contains("Attention.q_proj is a QuantizedLinear", error.Message);
        Assert.Contains("Projection(\"q_proj\")", error.Message);
        Assert.Throws<InvalidOperationException>(() => mlp.down_proj);
        Assert.Contains("not 'gate_proj'", Assert.Throws<ArgumentException>(() => mlp.Projection("gate_proj")).Message);
        Assert.Contains("not 'query'", Assert.Throws<ArgumentException>(() => attention.Projection("query")).Message);

        // A group size that does not divide a projection's input names the projection.
        var bad = Assert.Throws<ArgumentException>(() => new FeedForward(64, 96, FeedForwardActivation.Gelu, quantize: new ProjectionQuantization(QuantKind.Int4, 64)));
        Assert.Contains("'down_proj' (96 → 64)", bad.Message);
        Assert.Throws<ArgumentException>(() => new Attention(64, 4, 2, quantize: new ProjectionQuantization(QuantKind.None)));
    }

    [Fact]
    public void Qlora_adapters_attach_to_quantized_attention_and_mlp_and_only_they_get_gradients()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var block = new QuantizedTinyBlock(QuantKind.NF4);
        var x = randn(2, 6, 64);
        Tensor before;
        using (no_grad())
            before = block.call(x);

        var added = LoRA.Apply(block, new LoraOptions
        {
            Rank = 4, Alpha = 8,
            TargetModules = new[] { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" },
        });
        Assert.Equal(7, added.Count);
        Assert.All(added, a => Assert.True(a.Adapter.IsQuantizedBase));
        using (no_grad())
            Assert.True(QuantTestData.Identical(before, block.call(x))); // B = 0: exactly the base

        Adapters.LoraApplyTests.RandomizeAllB(block, 4);
        block.call(x).square().mean().backward();
        foreach (var (path, adapter) in added)
        {
            Assert.True(adapter.lora_A.weight!.grad is { } ga && ga.abs().max().item<float>() > 0, $"{path}.lora_A has no gradient");
            Assert.True(adapter.lora_B.weight!.grad is { } gb && gb.abs().max().item<float>() > 0, $"{path}.lora_B has no gradient");
        }
        var trainable = block.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.Equal(14, trainable.Count);
        Assert.All(trainable, n => Assert.Matches(@"\.lora_[AB]\.weight$", n));
        Assert.All(block.named_parameters().Where(p => !p.parameter.requires_grad), p => Assert.Null(p.parameter.grad)); // biases frozen, no gradient
        Assert.All(block.named_buffers(), b => Assert.False(b.buffer.requires_grad));
    }

    [Fact]
    public void A_kv_cache_for_a_model_with_quantized_attention_takes_the_compute_dtype()
    {
        using var scope = NewDisposeScope();
        var block = new QuantizedTinyBlock(QuantKind.Int8);
        var options = CachedDecoding.Options(block, batch: 1, maxLength: 8);
        Assert.Equal(ScalarType.Float32, options.DType);
        Assert.Equal(2, options.KvHeads);
    }
}

/// <summary>A decoder-like block whose Attention and FeedForward are built with [Quantize]'s projection quantization.</summary>
internal sealed class QuantizedTinyBlock : nn.Module<Tensor, Tensor>
{
    [TorchSharp.Utils.ComponentName(Name = "self_attn")]
    private readonly Attention _attention;
    [TorchSharp.Utils.ComponentName(Name = "mlp")]
    private readonly FeedForward _mlp;

    public QuantizedTinyBlock(QuantKind kind) : base(nameof(QuantizedTinyBlock))
    {
        var quantize = new ProjectionQuantization(kind);
        _attention = new Attention(64, 4, 2, causal: true, fused: false, bias: true, quantize: quantize);
        _mlp = new FeedForward(64, 128, FeedForwardActivation.SwiGlu, bias: true, quantize: quantize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input + _attention.call(input);
        return scope.MoveToOuter(x + _mlp.call(x));
    }
}
