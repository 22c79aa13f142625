using System;
using System.Collections.Generic;
using ModelGen.Quantization;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Quantization;

/// <summary>Bad input fails at construction or at the call, with a message that names the values; never inside backward.</summary>
public sealed class QuantizedLinearValidationTests
{
    [Theory]
    [InlineData(QuantKind.Int4, 32, false, 100L, "divisible by 32")]
    [InlineData(QuantKind.Int4, 0, false, 192L, "divisible by 128")]
    [InlineData(QuantKind.NF4, 64, false, 96L, "divisible by 64")]
    [InlineData(QuantKind.Int4, 48, false, 96L, "32, 64 or 128")]
    [InlineData(QuantKind.NF4, 100, false, 200L, "32, 64, 128 or 256")]
    [InlineData(QuantKind.Int8, 32, false, 64L, "one scale per output channel")]
    [InlineData(QuantKind.Int8, 0, true, 64L, "NF4 only")]
    [InlineData(QuantKind.Int4, 32, true, 64L, "NF4 only")]
    [InlineData(QuantKind.None, 0, false, 64L, "QuantKind.None")]
    [InlineData((QuantKind)9, 0, false, 64L, "Unknown quantization kind 9")]
    [InlineData(QuantKind.Int8, 0, false, 0L, "positive sizes")]
    public void An_invalid_layout_throws_at_construction(QuantKind kind, int groupSize, bool doubleQuant, long inFeatures, string message)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() =>
            new QuantizedLinear(inFeatures, 8, true, kind, groupSize, doubleQuant, ScalarType.Float32, null));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ScalarType.Int32)]
    [InlineData(ScalarType.ComplexFloat32)]
    public void A_non_float_compute_dtype_throws_at_construction(ScalarType dtype)
    {
        var error = Assert.Throws<ArgumentException>(() => new QuantizedLinear(64, 8, true, QuantKind.Int8, 0, false, dtype, null));

        Assert.Contains("compute dtype", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_input_size_throws_before_any_graph_is_built()
    {
        using var layer = new QuantizedLinear(64, 8, true, QuantKind.Int4, 32, false, ScalarType.Float32, null);
        using var x = randn(2, 63).requires_grad_();

        var error = Assert.Throws<ArgumentException>(() => layer.call(x));
        Assert.Contains("last dimension 64", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_integer_input_throws()
    {
        using var layer = new QuantizedLinear(64, 8, true, QuantKind.Int8, 0, false, ScalarType.Float32, null);
        using var x = ones(new long[] { 2, 64 }, ScalarType.Int64);

        Assert.Throws<ArgumentException>(() => layer.call(x));
    }

    [Fact]
    public void Quantizing_a_weight_of_the_wrong_shape_or_dtype_throws()
    {
        using var layer = new QuantizedLinear(64, 8, true, QuantKind.NF4, 64, false, ScalarType.Float32, null);
        using var transposed = randn(64, 8);
        using var integer = ones(new long[] { 8, 64 }, ScalarType.Int32);
        using var wrongBias = randn(9);
        using var weight = randn(8, 64);

        Assert.Contains("[8, 64]", Assert.Throws<ArgumentException>(() => layer.QuantizeFrom(transposed)).Message, StringComparison.Ordinal);
        Assert.Contains("floating-point", Assert.Throws<ArgumentException>(() => layer.QuantizeFrom(integer)).Message, StringComparison.Ordinal);
        Assert.Contains("bias of shape [8]", Assert.Throws<ArgumentException>(() => layer.QuantizeFrom(weight, wrongBias)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_float_state_dict_without_the_expected_keys_throws()
    {
        using var layer = new QuantizedLinear(64, 8, true, QuantKind.Int8, 0, false, ScalarType.Float32, null);
        using var weight = randn(8, 64);

        var noWeight = Assert.Throws<ArgumentException>(() => layer.LoadFloatWeights(new Dictionary<string, Tensor>(), "up."));
        var noBias = Assert.Throws<ArgumentException>(() => layer.LoadFloatWeights(new Dictionary<string, Tensor> { ["weight"] = weight }));

        Assert.Contains("'up.weight'", noWeight.Message, StringComparison.Ordinal);
        Assert.Contains("'bias'", noBias.Message, StringComparison.Ordinal);
    }
}
