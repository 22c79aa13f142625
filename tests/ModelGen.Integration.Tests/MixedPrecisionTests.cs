using System;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

/// <summary>
/// Generated mixed-precision layers (<c>[Precision(DType.Float32, Compute = …)]</c>, docs/precision.md) against a hand-written
/// reference that makes the same casts PyTorch's autocast makes: layer_norm in fp32, each linear on a 16-bit copy of its input
/// and weight, gelu on the 16-bit result, the residual sum promoted to fp32. Same ops in the same order on the CPU give the
/// same bits; the tolerance (1e-6 relative) only absorbs a different reduction order, never a missing cast, which moves results
/// by the 16-bit unit roundoff (bf16 3.9e-3, fp16 4.9e-4).
/// </summary>
[Collection(GlobalRandomStream.Name)]
public class MixedPrecisionTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const double Tolerance = 1e-6;

    [Theory]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16)]
    public void Generated_layer_matches_a_hand_written_autocast_reference_in_outputs_and_gradients(ScalarType compute)
    {
        var config = new TestConfig();
        torch.manual_seed(5);
        using nn.Module<Tensor, Tensor> layer = compute == ScalarType.BFloat16 ? new AmpMlpBf16(config) : new AmpMlpFp16(config);
        var parameters = layer.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(new[] { "down.weight", "norm.bias", "norm.weight", "up.bias", "up.weight" }, parameters.Keys.OrderBy(k => k, StringComparer.Ordinal));
        Assert.All(parameters.Values, p => Assert.Equal(ScalarType.Float32, p.dtype));

        var input = torch.randn(2, 7, config.Hidden);
        var x = input.clone().requires_grad_(true);
        var generated = layer.call(x);
        Assert.Equal(ScalarType.Float32, generated.dtype); // fp32 residual + 16-bit branch promotes to fp32
        Backward(generated);
        var generatedGrads = parameters.ToDictionary(p => p.Key, p => p.Value.grad!.detach().clone());
        Assert.All(generatedGrads.Values, g => Assert.Equal(ScalarType.Float32, g.dtype));

        // The reference: the same parameters as plain leaves, the casts written out.
        var leaves = parameters.ToDictionary(p => p.Key, p => p.Value.detach().clone().requires_grad_(true));
        var xr = input.clone().requires_grad_(true);
        var normed = nn.functional.layer_norm(xr, new long[] { config.Hidden }, leaves["norm.weight"], leaves["norm.bias"], 1e-5);
        var up = nn.functional.linear(normed.to_type(compute), leaves["up.weight"].to_type(compute), leaves["up.bias"].to_type(compute));
        var down = nn.functional.linear(nn.functional.gelu(up), leaves["down.weight"].to_type(compute));
        var reference = xr + down;
        Backward(reference);

        Assert.True(RelativeError(generated, reference) <= Tolerance, $"output differs by {RelativeError(generated, reference):G3}");
        Assert.True(RelativeError(x.grad!, xr.grad!) <= Tolerance, $"input gradient differs by {RelativeError(x.grad!, xr.grad!):G3}");
        foreach (var (name, grad) in generatedGrads)
            Assert.True(RelativeError(grad, leaves[name].grad!) <= Tolerance, $"{name} gradient differs by {RelativeError(grad, leaves[name].grad!):G3}");

        // The 16-bit compute really happened: the fp32 computation of the same layer differs by about the unit roundoff.
        using var noGrad = torch.no_grad();
        var fp32 = input + nn.functional.linear(nn.functional.gelu(nn.functional.linear(
            nn.functional.layer_norm(input, new long[] { config.Hidden }, leaves["norm.weight"], leaves["norm.bias"], 1e-5), leaves["up.weight"], leaves["up.bias"])), leaves["down.weight"]);
        var rounding = RelativeError(generated.detach() - input, fp32 - input);
        output.WriteLine($"{compute}: branch relative error against fp32 compute {rounding:G3}");
        Assert.True(rounding > 1e-5, $"{compute} mixed precision must round (relative error {rounding:G3})");
    }

    [Fact]
    public void Fp16_mixed_precision_model_trains_with_the_loss_scaler_and_keeps_fp32_parameters()
    {
        var config = new TestConfig();
        torch.manual_seed(9);
        using var model = new AmpLanguageModel(config);
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        var ids = torch.randint(0, config.Vocab, new long[] { 4, 12 });
        var targets = ids.roll(-1, 1);
        var optimizer = torch.optim.AdamW(model.parameters(), lr: 1e-2);
        var scaler = new LossScaler();
        double first = 0, last = 0;
        for (var step = 0; step < 20; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var logits = model.call(ids);
            Assert.Equal(ScalarType.Float16, logits.dtype); // the head computes in fp16
            var loss = Precision.CrossEntropyFp32(logits, targets);
            scaler.Scale(loss).backward();
            Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.grad!.dtype));
            scaler.Step(optimizer, model.parameters());
            var value = loss.item<float>();
            if (step == 0)
                first = value;
            last = value;
        }
        output.WriteLine($"loss {first:F4} -> {last:F4}, skipped steps {scaler.SkippedSteps}, scale {scaler.CurrentScale}");
        Assert.True(double.IsFinite(last) && last < 0.7 * first, $"loss should fall: {first} -> {last}");
    }

    [Fact]
    public void The_described_spec_carries_the_compute_dtype_for_the_memory_model()
    {
        var spec = AmpLanguageModel.DescribeModel(new TestConfig());
        Assert.Equal(DType.Float16, spec.Root.Compute);
        Assert.Equal(DType.Float32, spec.Root.Precision);
        Assert.Equal(DType.Float16, spec.Layers.Single(l => l.Name == nameof(AmpMlpFp16)).Compute);
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
