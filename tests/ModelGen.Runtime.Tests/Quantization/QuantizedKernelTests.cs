using System;
using System.Linq;
using ModelGen.Quantization;
using TorchSharp;
using static TorchSharp.torch;
using static ModelGen.Runtime.Tests.Quantization.QuantTestData;

namespace ModelGen.Runtime.Tests.Quantization;

/// <summary>
/// The packed CPU kernels reached through TorchScript: the fixed script compiles (a compile error would abort this test
/// process, failing the run by name), each kernel computes what its formula says, and the quantized Linear's kernel path gives
/// the dequantizing path's output and the same error against the float layer.
/// </summary>
public sealed class QuantizedKernelTests
{
    [Fact]
    public void The_fixed_script_compiles_and_each_kernel_matches_its_formula()
    {
        QuantizedKernels.EnsureCompiled();
        manual_seed(5);
        using var scope = NewDisposeScope();
        var x = randn(3, 64);
        var q = randint(-127, 128, new long[] { 32, 64 }).to(ScalarType.Int8);
        var s = rand(32) + 0.5;
        var expected8 = x.matmul((q.to(ScalarType.Float32) * s.unsqueeze(1)).t());
        Assert.True(expected8.allclose(QuantizedKernels.Int8WeightMatmul(x, q, s), rtol: 1e-5, atol: 1e-4));

        var codes = randint(0, 16, new long[] { 32, 64 }).to(ScalarType.Int32);
        var scale = rand(2, 32) + 0.5;   // [K/g, N] for g = 32
        var zero = randn(2, 32);
        var packed = QuantizedKernels.Int4Pack(codes, 2);
        var dequantized = (codes.to(ScalarType.Float32) - 8).view(32, 2, 32).mul(scale.t().unsqueeze(2)).add(zero.t().unsqueeze(2)).view(32, 64);
        var actual4 = QuantizedKernels.Int4WeightMatmul(x, packed, 32, stack(new[] { scale, zero }, -1));
        Assert.True(x.matmul(dequantized.t()).allclose(actual4, rtol: 1e-4, atol: 1e-3));

        var a = randint(-128, 128, new long[] { 32, 64 }).to(ScalarType.Int8);
        var b = randint(-128, 128, new long[] { 64, 32 }).to(ScalarType.Int8);
        var expectedInt = a.to(ScalarType.Int64).matmul(b.to(ScalarType.Int64)).to(ScalarType.Int32);
        Assert.True(expectedInt.eq(QuantizedKernels.IntMatmul(a, b)).all().item<bool>());
    }

    [Theory]
    [InlineData(QuantKind.Int8, 0, false, 1)]
    [InlineData(QuantKind.Int8, 0, false, 8)]
    [InlineData(QuantKind.Int4, 32, false, 1)]
    [InlineData(QuantKind.Int4, 128, false, 16)]
    [InlineData(QuantKind.NF4, 64, false, 1)]
    [InlineData(QuantKind.NF4, 64, true, 3)]
    public void Kernel_and_tiled_paths_give_the_dequantized_output_and_the_same_error(QuantKind kind, int group, bool doubleQuant, long rows)
    {
        using var linear = GaussianLinear(1024, 2048, seed: 7);
        using var layer = QuantizedLinear.FromLinear(linear, kind, group, doubleQuant);
        using var x = GaussianInput(rows, 1024, seed: 8);
        using var noGrad = no_grad();
        using var expected = linear.call(x);
        using var weight = layer.Dequantize();
        using var reference = nn.functional.linear(x, weight, layer.bias);

        using var fast = layer.call(x);
        layer.UsePackedKernels = false;
        using var tiled = layer.call(x);

        Assert.True(reference.allclose(fast, rtol: 1e-4, atol: 1e-5), $"kernel path differs by {(reference - fast).abs().max().item<float>():G3}");
        Assert.True(reference.allclose(tiled, rtol: 1e-4, atol: 1e-5), $"tiled path differs by {(reference - tiled).abs().max().item<float>():G3}");
        double errorDequantized = RelativeError(reference, expected);
        Assert.InRange(RelativeError(fast, expected), errorDequantized * 0.999, errorDequantized * 1.001);
    }

    [Fact]
    public void A_bf16_int4_layer_computes_through_the_kernel_within_bf16_rounding_of_the_dequantized_output()
    {
        using var linear = GaussianLinear(512, 256, seed: 9);
        using var layer = QuantizedLinear.FromLinear(linear, QuantKind.Int4, 64, computeDtype: ScalarType.BFloat16);
        using var x = GaussianInput(2, 512, seed: 10).to(ScalarType.BFloat16);
        using var noGrad = no_grad();
        using var fast = layer.call(x);
        Assert.Equal(ScalarType.BFloat16, fast.dtype);
        Assert.True(layer.PackedKernelBytes > 0, "the Int4 kernel was not used");
        using var weight = layer.Dequantize();
        using var reference = nn.functional.linear(x.to(ScalarType.Float32), weight.to(ScalarType.Float32), layer.bias!.to(ScalarType.Float32));
        double error = RelativeError(fast.to(ScalarType.Float32), reference);
        Assert.True(error < 1e-2, $"bf16 kernel output is {error:G3} away from the dequantized output");
    }

    [Fact]
    public void The_packed_copy_is_counted_and_released_when_the_weight_can_change()
    {
        using var layer = new QuantizedLinear(256, 128, hasBias: false, QuantKind.Int4, 64);
        using var noGrad = no_grad();
        Assert.Equal(0, layer.PackedKernelBytes);
        using (layer.call(ones(1, 256))) { }
        // Codes: 128·256/2 bytes; scale and zero: 4 groups · 128 rows · 2 values · 4 bytes (fp32 compute).
        Assert.Equal(128 * 128 + 4 * 128 * 2 * 4, layer.PackedKernelBytes);
        layer.state_dict();
        Assert.Equal(0, layer.PackedKernelBytes);
        using (layer.call(ones(1, 256))) { }
        using (var w = randn(128, 256)) layer.QuantizeFrom(w);
        Assert.Equal(0, layer.PackedKernelBytes);
    }
}
