using System;
using ModelGen.Quantization;
using TorchSharp;
using static ModelGen.Runtime.Tests.Quantization.QuantTestData;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Quantization;

/// <summary>
/// The NF4 decoding kernel (issue 11: NF4 at 1 token without dequantizing the weight): at few rows an NF4 layer computes from its
/// codes in place, and its output equals the dequantized output (fp32 rounding; bf16 rounding in bf16), through the AVX-512 path
/// and the scalar one alike, with and without double quantization; sizes it does not take fall back to row tiles.
/// </summary>
public sealed class Nf4MatmulKernelTests
{
    public static TheoryData<int, bool, long, bool> Cases => new()
    {
        { 64, false, 1, true }, { 64, false, 1, false }, { 64, true, 1, true }, { 64, true, 3, false },
        { 32, false, 16, true }, { 128, false, 5, true }, { 256, true, 2, false }, { 64, false, 16, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_kernel_equals_the_dequantized_output(int block, bool doubleQuant, long rows, bool vectors)
    {
        using var scope = NewDisposeScope();
        using var linear = GaussianLinear(512, 192, seed: block + rows);
        using var layer = QuantizedLinear.FromLinear(linear, QuantKind.NF4, block, doubleQuant);
        var x = GaussianInput(rows, 512, seed: 7);
        using var weight = layer.Dequantize();
        var reference = nn.functional.linear(x, weight, layer.bias);
        Tensor fast;
        Nf4MatmulKernel.AllowVectors = vectors;
        try
        {
            using (no_grad())
                fast = layer.call(x);
        }
        finally
        {
            Nf4MatmulKernel.AllowVectors = true;
        }
        Assert.True(Nf4MatmulKernel.Fits(512, block));
        Assert.True(reference.allclose(fast, rtol: 1e-4, atol: 1e-5), $"kernel differs by {(reference - fast).abs().max().item<float>():G3}");
        // Output error unchanged: the same relative error against the float layer as the dequantized weight gives.
        using var exact = linear.call(x);
        Assert.Equal(RelativeError(reference, exact), RelativeError(fast, exact), 4);
    }

    [Fact]
    public void The_kernel_reads_a_batch_of_tokens_and_keeps_the_leading_shape()
    {
        using var scope = NewDisposeScope();
        using var layer = QuantizedLinear.FromLinear(GaussianLinear(256, 64, seed: 3), QuantKind.NF4);
        var x = GaussianInput(6, 256, seed: 4).view(2, 3, 256);
        using var weight = layer.Dequantize();
        using (no_grad())
        {
            var fast = layer.call(x);
            Assert.Equal(new long[] { 2, 3, 64 }, fast.shape);
            Assert.True(nn.functional.linear(x, weight, layer.bias).allclose(fast, rtol: 1e-4, atol: 1e-5));
        }
    }

    [Fact]
    public void A_bf16_layer_is_within_bf16_rounding_of_the_dequantized_output()
    {
        using var scope = NewDisposeScope();
        using var layer = QuantizedLinear.FromLinear(GaussianLinear(512, 128, seed: 9), QuantKind.NF4, computeDtype: ScalarType.BFloat16);
        var x = GaussianInput(2, 512, seed: 10).to(ScalarType.BFloat16);
        using var weight = layer.Dequantize();
        var reference = nn.functional.linear(x, weight, layer.bias).to(ScalarType.Float32);
        using (no_grad())
        {
            var fast = layer.call(x);
            Assert.Equal(ScalarType.BFloat16, fast.dtype);
            var error = RelativeError(fast.to(ScalarType.Float32), reference);
            Assert.True(error < 1e-2, $"bf16 kernel output is {error:G3} away from the dequantized output");
        }
    }

    [Fact]
    public void Sizes_the_kernel_does_not_take_fall_back_to_row_tiles()
    {
        using var scope = NewDisposeScope();
        // Blocks whose codes are not whole 16-byte chunks are not taken (every supported block size is, 32 to 256).
        Assert.False(Nf4MatmulKernel.Fits(96, 16));
        using var layer = QuantizedLinear.FromLinear(GaussianLinear(96, 64, seed: 5), QuantKind.NF4, 32);
        using var weight = layer.Dequantize();
        // More rows than the kernel takes: row tiles.
        var many = GaussianInput(Nf4MatmulKernel.MaxRows + 1, 96, seed: 7);
        using (no_grad())
            Assert.True(nn.functional.linear(many, weight, layer.bias).allclose(layer.call(many), rtol: 1e-4, atol: 1e-5));
    }
}
