using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

/// <summary>
/// Generated mixed-precision layers built from <c>[Attention]</c> and <c>[FeedForward]</c> (docs/precision.md, "Attention and
/// FeedForward") against a hand-written reference with the casts that section states: each block casts its fp32 input to bf16
/// once, projects with bf16 copies of its fp32 weights, runs rotary-free attention with q·kᵀ in bf16, the eager softmax on an fp32
/// cast of the scores, p·v on a bf16 cast of the fp32 probabilities (or scaled_dot_product_attention in bf16), the activation on
/// the bf16 projections, and returns its output cast to fp32. On the CPU the two agree bit for bit; the tolerance (1e-6
/// relative) only absorbs a different reduction order, never a missing cast, which moves results by bf16's unit roundoff (3.9e-3).
/// A softmax saved in bf16 instead of fp32 gives the same forward and gradients about 1e-3 apart.
/// </summary>
[Collection(GlobalRandomStream.Name)]
public class MixedPrecisionBlockTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const double Tolerance = 1e-6;
    private const ScalarType Bf16 = ScalarType.BFloat16;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Generated_block_matches_a_hand_written_autocast_reference_in_outputs_and_gradients(bool fused)
    {
        var config = new AmpBlockConfig();
        torch.manual_seed(21);
        using nn.Module<Tensor, Tensor> layer = fused ? new AmpFusedBlock(config) : new AmpEagerBlock(config);
        var parameters = layer.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        output.WriteLine(string.Join(", ", parameters.Keys));
        Assert.All(parameters.Values, p => Assert.Equal(ScalarType.Float32, p.dtype));

        var input = torch.randn(2, 7, config.Hidden);
        var x = input.clone().requires_grad_(true);
        var generated = layer.call(x);
        Assert.Equal(ScalarType.Float32, generated.dtype);
        Backward(generated);
        var generatedGrads = parameters.ToDictionary(p => p.Key, p => p.Value.grad!.detach().clone());
        Assert.All(generatedGrads.Values, g => Assert.Equal(ScalarType.Float32, g.dtype));

        var leaves = parameters.ToDictionary(p => p.Key, p => p.Value.detach().clone().requires_grad_(true));
        var xr = input.clone().requires_grad_(true);
        var reference = Block(xr, leaves, config, fused, Bf16);
        Backward(reference);

        Check("output", generated, reference);
        Check("input gradient", x.grad!, xr.grad!);
        foreach (var (name, grad) in generatedGrads)
            Check(name + " gradient", grad, leaves[name].grad!);

        // The 16-bit compute really happened: the same block in fp32 differs by about bf16's unit roundoff.
        using var noGrad = torch.no_grad();
        var fp32 = Block(input, leaves, config, fused, ScalarType.Float32);
        var rounding = RelativeError(generated.detach() - input, fp32 - input);
        output.WriteLine($"fused {fused}: branch relative error against fp32 compute {rounding:G3}");
        Assert.True(rounding > 1e-3, $"bf16 mixed precision must round (relative error {rounding:G3})");
    }

    [Fact]
    public void Mixed_precision_transformer_trains_with_fp32_parameters_and_gradients()
    {
        var config = new AmpBlockConfig();
        torch.manual_seed(9);
        using var model = new AmpTransformer(config);
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        var ids = torch.randint(0, config.Vocab, new long[] { 4, 12 });
        var targets = ids.roll(-1, 1);
        var optimizer = torch.optim.AdamW(model.parameters(), lr: 1e-2);
        double first = 0, last = 0;
        for (var step = 0; step < 20; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var logits = model.call(ids);
            Assert.Equal(Bf16, logits.dtype); // the head computes in bf16
            var loss = Precision.CrossEntropyFp32(logits, targets);
            loss.backward();
            Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.grad!.dtype));
            optimizer.step();
            var value = loss.item<float>();
            if (step == 0)
                first = value;
            last = value;
        }
        output.WriteLine($"loss {first:F4} -> {last:F4}");
        Assert.True(double.IsFinite(last) && last < 0.7 * first, $"loss should fall: {first} -> {last}");
        var spec = AmpTransformer.DescribeModel(config);
        Assert.Equal(DType.BFloat16, spec.Layers.Single(l => l.Name == nameof(AmpEagerBlock)).Compute);
    }

    [Fact]
    public void Blocks_take_only_a_16_bit_compute_dtype_and_expose_autocast_projections()
    {
        var wide = Assert.Throws<ArgumentException>(() => new ModelGen.Nn.FeedForward(8, 16, compute: ScalarType.Float32));
        Assert.Contains("BFloat16 or Float16", wide.Message, StringComparison.Ordinal);
        var quantized = Assert.Throws<ArgumentException>(() => new ModelGen.Nn.Attention(8, 2, 2,
            quantize: new ModelGen.Quantization.ProjectionQuantization(QuantKind.Int8, 0, false), compute: Bf16));
        Assert.Contains("quantized", quantized.Message, StringComparison.Ordinal);
        using var attention = new ModelGen.Nn.Attention(8, 2, 2, compute: Bf16);
        Assert.IsType<AutocastLinear>(attention.Projection("q_proj"));
        Assert.Equal(Bf16, attention.ProjectionDtype); // what a KV cache stores
        var dense = Assert.Throws<InvalidOperationException>(() => attention.q_proj);
        Assert.Contains("Projection(\"q_proj\")", dense.Message, StringComparison.Ordinal);
    }

    /// <summary>x + Attn(Ln1(x)), then + Mlp(Ln2(x)), the blocks computing in <paramref name="c"/> (fp32: no casts at all).</summary>
    private static Tensor Block(Tensor x, Dictionary<string, Tensor> p, AmpBlockConfig config, bool fused, ScalarType c)
    {
        Tensor Norm(Tensor t, string name) =>
            nn.functional.layer_norm(t, new long[] { config.Hidden }, p[name + ".weight"], p[name + ".bias"], 1e-5);
        Tensor Linear(Tensor t, string name) =>
            nn.functional.linear(t, p[name + ".weight"].to_type(c), p.TryGetValue(name + ".bias", out var b) ? b.to_type(c) : null);

        // Attention: one cast of the input, bf16 projections and products, the eager softmax in fp32.
        var a = Norm(x, "ln1").to_type(c);
        long batch = x.shape[0], seq = x.shape[1], heads = config.Heads, headDim = config.Hidden / config.Heads;
        Tensor Heads(Tensor t) => t.view(batch, seq, heads, headDim).transpose(1, 2);
        var q = Heads(Linear(a, "attn.q_proj"));
        var k = Heads(Linear(a, "attn.k_proj"));
        var v = Heads(Linear(a, "attn.v_proj"));
        Tensor context;
        if (fused)
        {
            context = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
        }
        else
        {
            var scores = q.matmul(k.transpose(-2, -1)).to_type(ScalarType.Float32) * (1.0 / Math.Sqrt(headDim));
            var future = torch.ones(seq, seq, dtype: ScalarType.Bool).triu(1);
            var probabilities = torch.softmax(scores.masked_fill(future, double.NegativeInfinity), -1);
            context = probabilities.to_type(c).matmul(v);
        }
        var attended = Linear(context.transpose(1, 2).reshape(batch, seq, config.Hidden), "attn.o_proj").to_type(ScalarType.Float32);
        x = x + attended;

        // FeedForward: one cast of the input, the activation at the projections' dtype, the output cast back.
        var m = Norm(x, "ln2").to_type(c);
        var inner = p.ContainsKey("mlp.gate_proj.weight")
            ? nn.functional.silu(Linear(m, "mlp.gate_proj")) * Linear(m, "mlp.up_proj")
            : nn.functional.gelu(Linear(m, "mlp.up_proj"), TorchSharp.Modules.GELU.Approximate.tanh);
        return x + Linear(inner, "mlp.down_proj").to_type(ScalarType.Float32);
    }

    private void Check(string what, Tensor actual, Tensor expected)
    {
        var error = RelativeError(actual, expected);
        output.WriteLine($"{what}: {error:G3}");
        Assert.True(error <= Tolerance, $"{what} differs by {error:G3}");
    }

    private static void Backward(Tensor output)
    {
        torch.manual_seed(11);
        var weights = torch.randn(output.shape);
        (output.to_type(ScalarType.Float32) * weights).sum().backward();
    }

    private static double RelativeError(Tensor actual, Tensor expected)
    {
        var difference = actual.detach().to(ScalarType.Float64) - expected.detach().to(ScalarType.Float64);
        return difference.norm().item<double>() / expected.detach().to(ScalarType.Float64).norm().item<double>();
    }
}
