using System;
using System.IO;
using System.Linq;
using ModelGen.Quantization;
using TorchSharp;
using static TorchSharp.torch;
using static ModelGen.Runtime.Tests.Quantization.QuantTestData;

namespace ModelGen.Runtime.Tests.Quantization;

/// <summary>Stored bytes against the layout arithmetic, and the state_dict of the quantized buffers.</summary>
public sealed class QuantizedLinearStorageTests
{
    [Theory]
    [InlineData(QuantKind.Int8, 0, false, 96L, 10L)]
    [InlineData(QuantKind.Int4, 32, false, 96L, 10L)]
    [InlineData(QuantKind.Int4, 64, false, 128L, 7L)]
    [InlineData(QuantKind.Int4, 128, false, 384L, 3L)]
    [InlineData(QuantKind.NF4, 64, false, 192L, 5L)]
    [InlineData(QuantKind.NF4, 64, true, 192L, 5L)]      // 15 absmax blocks: the 256-block is mostly padding
    [InlineData(QuantKind.NF4, 64, true, 1024L, 640L)]   // 10240 blocks: exactly 40 second-level scales
    [InlineData(QuantKind.NF4, 128, true, 256L, 257L)]   // 514 blocks: 3 second-level scales
    public void Stored_bytes_equal_the_layout_formula(QuantKind kind, int groupSize, bool doubleQuant, long inFeatures, long outFeatures)
    {
        using var layer = new QuantizedLinear(inFeatures, outFeatures, true, kind, groupSize, doubleQuant, ScalarType.Float32, null);

        Assert.Equal(QuantLayout.WeightBytes(kind, groupSize, doubleQuant, inFeatures, outFeatures), layer.StoredBytes);
    }

    [Theory]
    [MemberData(nameof(Formats), MemberType = typeof(QuantTestData))]
    public void Stored_bytes_per_parameter_equal_the_rate_plus_the_documented_constants(QuantKind kind, int groupSize, bool doubleQuant)
    {
        const long inFeatures = 1024, outFeatures = 256; // NF4 b64: 4096 blocks = 16 whole second-level blocks
        using var layer = new QuantizedLinear(inFeatures, outFeatures, false, kind, groupSize, doubleQuant, ScalarType.Float32, null);
        double rate = QuantizedLinear.BytesPerParameter(kind, groupSize, doubleQuant);
        long constants = kind == QuantKind.Int8 ? 4 * outFeatures : doubleQuant ? 4 : 0;

        Assert.Equal(rate * inFeatures * outFeatures + constants, layer.StoredBytes);
    }

    [Theory]
    [InlineData(QuantKind.Int8, 0, false, new[] { "weight:Int8:[8,64]", "weight_scale:Float32:[8]" })]
    [InlineData(QuantKind.Int4, 32, false, new[] { "weight:Byte:[8,32]", "weight_scale:BFloat16:[8,2]", "weight_zero:BFloat16:[8,2]" })]
    [InlineData(QuantKind.NF4, 64, false, new[] { "weight:Byte:[256]", "weight_absmax:Float32:[8]" })]
    [InlineData(QuantKind.NF4, 64, true, new[] { "weight:Byte:[256]", "weight_absmax_q:Byte:[8]", "weight_absmax_scale:Float32:[1]", "weight_absmax_offset:Float32:[]" })]
    public void State_dict_holds_the_documented_buffers_and_the_bias(QuantKind kind, int groupSize, bool doubleQuant, string[] expected)
    {
        using var layer = new QuantizedLinear(64, 8, true, kind, groupSize, doubleQuant, ScalarType.Float32, null);
        var state = layer.state_dict();

        var described = state.Where(p => p.Key != "bias")
            .Select(p => $"{p.Key}:{p.Value.dtype}:[{string.Join(",", p.Value.shape)}]").ToArray();
        Assert.Equal(expected, described);
        Assert.Equal(expected.Select(e => e.Split(':')[0]), layer.QuantizedBufferNames);
        Assert.Equal(ScalarType.Float32, state["bias"].dtype);
    }

    [Theory]
    [MemberData(nameof(Formats), MemberType = typeof(QuantTestData))]
    public void Pre_quantized_weights_round_trip_through_state_dict(QuantKind kind, int groupSize, bool doubleQuant)
    {
        using var linear = GaussianLinear(128, 16, seed: 11);
        using var source = QuantizedLinear.FromLinear(linear, kind, groupSize, doubleQuant);
        // A fresh layer starts from its own random weights; loading must replace every stored byte.
        using var target = new QuantizedLinear(128, 16, true, kind, groupSize, doubleQuant, ScalarType.Float32, null);
        target.load_state_dict(source.state_dict());

        AssertSameState(source, target);
        using var x = GaussianInput(4, 128, seed: 12);
        using var expected = source.call(x);
        using var actual = target.call(x);
        Assert.True(Identical(actual, expected));
    }

    [Theory]
    [InlineData(QuantKind.Int4, 64, false)]
    [InlineData(QuantKind.NF4, 64, true)]
    public void Pre_quantized_weights_round_trip_through_a_file(QuantKind kind, int groupSize, bool doubleQuant)
    {
        using var linear = GaussianLinear(128, 16, seed: 13);
        using var source = QuantizedLinear.FromLinear(linear, kind, groupSize, doubleQuant);
        using var target = new QuantizedLinear(128, 16, true, kind, groupSize, doubleQuant, ScalarType.Float32, null);
        var path = Path.Combine(Path.GetTempPath(), $"modelgen-quant-{Guid.NewGuid():N}.dat");
        try
        {
            source.save(path);
            target.load(path);
        }
        finally
        {
            File.Delete(path);
        }

        AssertSameState(source, target);
    }

    [Theory]
    [MemberData(nameof(Formats), MemberType = typeof(QuantTestData))]
    public void Loading_a_float_state_dict_quantizes_like_FromLinear(QuantKind kind, int groupSize, bool doubleQuant)
    {
        using var linear = GaussianLinear(128, 16, seed: 14);
        using var fromLinear = QuantizedLinear.FromLinear(linear, kind, groupSize, doubleQuant);
        using var loaded = new QuantizedLinear(128, 16, true, kind, groupSize, doubleQuant, ScalarType.Float32, null);
        var prefixed = linear.state_dict().ToDictionary(p => "mlp.up." + p.Key, p => p.Value);

        loaded.LoadFloatWeights(prefixed, "mlp.up.");

        AssertSameState(fromLinear, loaded);
    }

    [Fact]
    public void A_bfloat16_weight_quantizes_and_becomes_the_compute_dtype()
    {
        using var linear = GaussianLinear(128, 16, seed: 15);
        linear.to(ScalarType.BFloat16, false);
        using var layer = QuantizedLinear.FromLinear(linear, QuantKind.Int4, 32);

        Assert.Equal(ScalarType.BFloat16, layer.ComputeDtype);
        Assert.Equal(ScalarType.BFloat16, layer.bias!.dtype);
        using var w = layer.Dequantize();
        Assert.True(RelativeError(w, linear.weight!) < 0.09);
    }

    [Fact]
    public void Converting_the_module_dtype_changes_the_compute_dtype_and_never_the_stored_format()
    {
        using var layer = new QuantizedLinear(128, 16, true, QuantKind.NF4, 64, true, ScalarType.Float32, null);
        var dtypes = layer.QuantizedBufferNames.Select(n => layer.get_buffer(n)!.dtype).ToArray();
        long bytes = layer.StoredBytes;

        layer.to(ScalarType.BFloat16, false);

        Assert.Equal(ScalarType.BFloat16, layer.ComputeDtype);
        Assert.Equal(ScalarType.BFloat16, layer.bias!.dtype);
        Assert.Equal(dtypes, layer.QuantizedBufferNames.Select(n => layer.get_buffer(n)!.dtype));
        Assert.Equal(bytes, layer.StoredBytes);
        using var x = GaussianInput(2, 128, seed: 16);
        using var y = layer.call(x);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
    }

    private static void AssertSameState(QuantizedLinear expected, QuantizedLinear actual)
    {
        var a = expected.state_dict();
        var b = actual.state_dict();
        Assert.Equal(a.Keys, b.Keys);
        foreach (var key in a.Keys)
        {
            Assert.Equal(a[key].dtype, b[key].dtype);
            Assert.True(Identical(a[key], b[key]), $"'{key}' differs after the round trip.");
        }
    }
}
