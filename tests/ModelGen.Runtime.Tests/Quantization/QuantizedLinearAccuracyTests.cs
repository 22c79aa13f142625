using System;
using ModelGen.Quantization;
using static TorchSharp.torch;
using static ModelGen.Runtime.Tests.Quantization.QuantTestData;

namespace ModelGen.Runtime.Tests.Quantization;

/// <summary>
/// Round-trip error of each format on Gaussian weights (N(0, 0.02²), in = 1024, out = 256) and Gaussian inputs.
/// For inputs with i.i.d. entries E‖ΔW·x‖² / E‖W·x‖² = ‖ΔW‖²/‖W‖², so the relative output error estimates the relative weight
/// error. For a uniform grid of step s the rounding error is ≈ uniform on [−s/2, s/2], RMS s/√12 (Widrow's quantization-noise
/// model); the bounds below are that prediction for this data plus a margin (docs/quantization.md derives each one).
/// </summary>
public sealed class QuantizedLinearAccuracyTests
{
    private const long In = 1024;
    private const long Out = 256;

    [Theory]
    [InlineData(QuantKind.Int8, 0, false, 0.009)]   // absmax of 1024 normals ≈ 3.4σ: (3.4/127)/√12 = 0.0077
    [InlineData(QuantKind.Int4, 32, false, 0.092)]  // range of 32 normals ≈ 4.1σ: (4.1/15)/√12 = 0.079
    [InlineData(QuantKind.Int4, 64, false, 0.102)]  // range of 64 ≈ 4.7σ: 0.090
    [InlineData(QuantKind.Int4, 128, false, 0.112)] // range of 128 ≈ 5.2σ: 0.100
    [InlineData(QuantKind.NF4, 64, false, 0.105)]   // NF4 on N(0,1) blocks of 64: 0.092 measured (QLoRA's levels are not a uniform grid)
    [InlineData(QuantKind.NF4, 64, true, 0.105)]    // double quantization adds < 0.5% (8-bit absmax)
    public void Relative_output_error_is_within_the_stated_bound(QuantKind kind, int groupSize, bool doubleQuant, double bound)
    {
        using var linear = GaussianLinear(In, Out, seed: 1, hasBias: false);
        using var layer = QuantizedLinear.FromLinear(linear, kind, groupSize, doubleQuant);
        using var x = GaussianInput(64, In, seed: 2);
        using var expected = linear.call(x);
        using var actual = layer.call(x);

        double error = RelativeError(actual, expected);

        Assert.True(error <= bound, $"{kind} g{groupSize} dq={doubleQuant}: relative output error {error:F5} exceeds {bound}.");
        // Guards against a layer that silently keeps the float weight: 4- and 8-bit formats cannot be this exact.
        Assert.True(error >= bound / 4, $"{kind}: relative output error {error:F5} is implausibly small for a quantized weight.");
    }

    [Theory]
    [InlineData(QuantKind.Int8, 0)]
    [InlineData(QuantKind.Int4, 32)]
    [InlineData(QuantKind.Int4, 128)]
    public void Grid_formats_match_the_rounding_noise_model(QuantKind kind, int groupSize)
    {
        using var linear = GaussianLinear(In, Out, seed: 3, hasBias: false);
        using var layer = QuantizedLinear.FromLinear(linear, kind, groupSize);
        using var w = layer.Dequantize();

        // Predicted ‖ΔW‖² = Σ over elements of s²/12 with s each element's stored scale.
        using var scale = layer.get_buffer("weight_scale")!.to(ScalarType.Float64);
        long perScale = kind == QuantKind.Int8 ? In : groupSize;
        using var squares = scale.square();
        double predictedSquare = squares.sum().item<double>() * perScale / 12;
        using var norm = linear.weight!.norm().to(ScalarType.Float64);
        double predicted = Math.Sqrt(predictedSquare) / norm.item<double>();
        double measured = RelativeError(w, linear.weight!);

        Assert.InRange(measured / predicted, 0.8, 1.2);
    }

    [Theory]
    [MemberData(nameof(Formats), MemberType = typeof(QuantTestData))]
    public void Every_element_is_within_half_a_step_of_its_level(QuantKind kind, int groupSize, bool doubleQuant)
    {
        using var linear = GaussianLinear(256, 64, seed: 4);
        using var layer = QuantizedLinear.FromLinear(linear, kind, groupSize, doubleQuant);
        using var w = layer.Dequantize();
        using var error = (w - linear.weight!).abs_();
        using var allowed = ElementBound(layer, linear.weight!);
        // fp32 arithmetic in quantize and dequantize: a relative slack of 1e-5 of the step.
        using var excess = error - allowed.mul(1 + 1e-5);
        Assert.True(excess.max().item<float>() <= 0, $"{kind}: an element is {excess.max().item<float>():E3} beyond its bound.");
    }

    [Theory]
    [InlineData(QuantKind.Int8, 0, false, 0.009)]
    [InlineData(QuantKind.Int4, 128, false, 0.112)]
    [InlineData(QuantKind.NF4, 64, true, 0.105)]
    public void Bfloat16_compute_adds_at_most_bfloat16_rounding(QuantKind kind, int groupSize, bool doubleQuant, double bound)
    {
        using var linear = GaussianLinear(In, Out, seed: 5, hasBias: false);
        using var layer = QuantizedLinear.FromLinear(linear, kind, groupSize, doubleQuant, ScalarType.BFloat16);
        using var x = GaussianInput(64, In, seed: 6);
        using var expected = linear.call(x);
        using var actual = layer.call(x);

        // bf16 keeps 8 significant bits: relative rounding 2^-9 per element of x, W and y, plus sums of 1024 products.
        Assert.True(RelativeError(actual, expected) <= bound + 0.01);
    }

    /// <summary>The per-element bound each format guarantees, from the stored constants (layouts in <see cref="QuantLayout"/>).</summary>
    private static Tensor ElementBound(QuantizedLinear layer, Tensor weight)
    {
        long rows = layer.out_features, cols = layer.in_features, g = layer.GroupSize;
        switch (layer.Kind)
        {
            case QuantKind.Int8:
                return layer.get_buffer("weight_scale")!.to(ScalarType.Float32).div(2).unsqueeze(1).expand(rows, cols).contiguous();
            case QuantKind.Int4:
                return layer.get_buffer("weight_scale")!.to(ScalarType.Float32).div(2).repeat_interleave(g, 1);
            default:
            {
                using var blocks = weight.reshape(-1, g);
                using var trueAbsmax = blocks.abs().amax(new long[] { 1 });
                using var stored = layer.DoubleQuant ? StoredDoubleQuantAbsmax(layer) : layer.get_buffer("weight_absmax")!.alias();
                // Codes are chosen against the stored absmax: an element above it clamps to ±1 and loses the difference.
                using var clampLoss = (trueAbsmax - stored).clamp_min_(0);
                using var perBlock = stored * NormalFloat4.MaxRoundingError + clampLoss;
                return perBlock.repeat_interleave(g).view(rows, cols);
            }
        }
    }

    /// <summary>absmax = (code − 128)·scale[block / 256] + offset, as documented for double quantization.</summary>
    private static Tensor StoredDoubleQuantAbsmax(QuantizedLinear layer)
    {
        using var codes = layer.get_buffer("weight_absmax_q")!.to(ScalarType.Float32);
        using var scale = layer.get_buffer("weight_absmax_scale")!;
        using var offset = layer.get_buffer("weight_absmax_offset")!;
        using var perBlock = scale.repeat_interleave(QuantLayout.DoubleQuantBlockSize).narrow(0, 0, codes.shape[0]);
        return (codes - 128).mul_(perBlock).add_(offset);
    }
}
