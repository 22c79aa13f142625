using ModelGen.Quantization;
using TorchSharp;
using static ModelGen.Runtime.Tests.Quantization.QuantTestData;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Quantization;

/// <summary>
/// The bf16 prefill tiles (issue 11: 256 tokens ≤ 1.5× bf16) give what the dequantize-whole reference gives: for every format, at
/// 1 and 256 tokens, for 3-D batches, and for a weight whose rows are not a multiple of the tile (the last tile is partial).
/// On a CPU without AVX-512 the layer takes its other paths, which must give the same outputs (the scalar twins of the tile
/// loops are checked bit for bit in <see cref="Bf16TileDequantizerTests"/> on any CPU).
/// </summary>
public sealed class PrefillTilesTests
{
    public static TheoryData<QuantKind, int, bool, int> Cases
    {
        get
        {
            var cases = new TheoryData<QuantKind, int, bool, int>();
            foreach (var tokens in new[] { 1, 256 })
            {
                cases.Add(QuantKind.Int8, 0, false, tokens);
                cases.Add(QuantKind.Int4, 128, false, tokens);
                cases.Add(QuantKind.NF4, 64, false, tokens);
                cases.Add(QuantKind.NF4, 64, true, tokens);
            }
            return cases;
        }
    }

    /// <summary>
    /// 4096 inputs make the tile 2048 rows (2^23 elements), so 2096 outputs are one whole tile and one of 48 rows. The tiles hold
    /// Dequantize()'s bf16 values bit for bit and the bias enters the GEMM, so the output is the reference's up to the GEMM's fp32
    /// summation order (a rare flip of the last bf16 bit).
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void The_tiled_output_equals_the_dequantize_whole_reference(QuantKind kind, int group, bool doubleQuant, int tokens)
    {
        using var scope = NewDisposeScope();
        using var linear = GaussianLinear(4096, 2096, seed: 21);
        using var layer = QuantizedLinear.FromLinear(linear, kind, group, doubleQuant, ScalarType.BFloat16);
        layer.ForcePrefillTiles = true; // 1 token would otherwise take a kernel
        var x = GaussianInput(tokens, 4096, seed: 22).to(ScalarType.BFloat16);
        using var noGrad = no_grad();
        var reference = nn.functional.linear(x, layer.Dequantize(), layer.bias);
        var tiled = layer.call(x);
        Assert.Equal(ScalarType.BFloat16, tiled.dtype);
        Assert.Equal(new long[] { tokens, 2096 }, tiled.shape);
        var exact = linear.call(x.to(ScalarType.Float32));
        double referenceError = RelativeError(reference, exact);
        if (kind == QuantKind.Int8 && Bf16TileDequantizer.Available)
        {
            Int8IsAtLeastAsAccurate(layer, x, tiled, reference, exact);
            return;
        }
        double error = RelativeError(tiled, reference);
        Assert.True(error < Tolerance, $"the output is {error:G3} away from the dequantize-whole reference");

        // The error against the float layer is the reference's (the tiles change speed, not the result).
        Assert.InRange(RelativeError(tiled, exact), referenceError - Tolerance, referenceError + Tolerance);
    }

    /// <summary>
    /// Int8's tiles hold the exact codes and its fp32 scale and bias are applied to the output (docs/quantization.md, "Prefill"),
    /// so no weight is rounded to bf16 but the GEMM's sum is rounded once before the scale: against the quantized weight computed
    /// in fp32 (the best a bf16 output can approach), the tiled output is within two bf16 roundings and no further than the bf16
    /// dequantize-whole reference, whose weights are each rounded; against the float layer it is no worse than that reference.
    /// </summary>
    private static void Int8IsAtLeastAsAccurate(QuantizedLinear layer, Tensor x, Tensor tiled, Tensor reference, Tensor floatLayer)
    {
        var state = layer.state_dict();
        var weight = state["weight"].to(ScalarType.Float32).mul(state["weight_scale"].unsqueeze(1));
        var quantized = nn.functional.linear(x.to(ScalarType.Float32), weight, layer.bias!.to(ScalarType.Float32));
        double tiledError = RelativeError(tiled, quantized), referenceError = RelativeError(reference, quantized);
        Assert.True(tiledError < 4e-3, $"the output is {tiledError:G3} away from the fp32 quantized layer");
        Assert.True(tiledError <= referenceError * 1.05, $"the output is {tiledError:G3} away from the fp32 quantized layer, the bf16 reference {referenceError:G3}");
        double tiledFloat = RelativeError(tiled, floatLayer), referenceFloat = RelativeError(reference, floatLayer);
        Assert.True(tiledFloat <= referenceFloat + 1e-4, $"against the float layer: tiles {tiledFloat:G4}, the bf16 reference {referenceFloat:G4}");
        System.Console.WriteLine($"int8 tiles, {x.shape[0]} rows: to fp32 quantized {tiledError:G3} (bf16 reference {referenceError:G3}); to float layer {tiledFloat:G4} (reference {referenceFloat:G4})");
    }

    [Theory]
    [InlineData(QuantKind.Int8, 0, false)]
    [InlineData(QuantKind.Int4, 32, false)]
    [InlineData(QuantKind.NF4, 64, true)]
    public void A_batch_of_sequences_gives_each_sequence_its_own_output(QuantKind kind, int group, bool doubleQuant)
    {
        using var scope = NewDisposeScope();
        using var layer = QuantizedLinear.FromLinear(GaussianLinear(256, 200, seed: 23), kind, group, doubleQuant, ScalarType.BFloat16);
        var x = randn(new long[] { 3, 40, 256 }, generator: new Generator(24)).to(ScalarType.BFloat16); // 120 rows: above every kernel
        using var noGrad = no_grad();
        var batch = layer.call(x);
        Assert.Equal(new long[] { 3, 40, 200 }, batch.shape);
        // On the rows as one matrix: libtorch's linear on a 3-D bf16 input adds the bias after rounding the product (a second
        // bf16 rounding), on a matrix inside the GEMM as the tiles do.
        var reference = nn.functional.linear(x.reshape(120, 256), layer.Dequantize(), layer.bias).view(3, 40, 200);
        double error = RelativeError(batch, reference);
        double tolerance = kind == QuantKind.Int8 && Bf16TileDequantizer.Available ? 4e-3 : Tolerance; // Int8 rounds differently: above
        Assert.True(error < tolerance, $"the batch is {error:G3} away from the dequantize-whole reference");
        for (int i = 0; i < 3; i++)
        {
            double alone = RelativeError(batch[i], layer.call(x[i]));
            Assert.True(alone < Tolerance, $"sequence {i} differs by {alone:G3} when computed alone");
        }
    }

    /// <summary>
    /// With AVX-512 the tiles give the reference to 1e-4. Without it (some CI hosts) the other paths run: libtorch's row tiles and
    /// cast add the bias (and Int8's scale) after a bf16 rounding, and the kernels round differently, so bf16 rounding, 1e-2.
    /// </summary>
    private static double Tolerance => Bf16TileDequantizer.Available ? 1e-4 : 1e-2;
}
