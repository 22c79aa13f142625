using System.Collections.Generic;
using ModelGen.Quantization;
using TorchSharp;
using static ModelGen.Runtime.Tests.Quantization.QuantTestData;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Quantization;

/// <summary>
/// The bf16 prefill path (issue 11: 256 tokens): tiles rebuilt in registers hold bit for bit the values <c>Dequantize()</c> gives in
/// bf16 (Int8: the codes, whose scale goes to the output), and the layer's output through them equals the dequantized output within
/// bf16 rounding, with the error unchanged.
/// </summary>
public sealed class Bf16TileDequantizerTests
{
    public static TheoryData<QuantKind, int, bool> Formats => new()
    {
        { QuantKind.Int8, 0, false }, { QuantKind.Int4, 32, false }, { QuantKind.Int4, 128, false },
        { QuantKind.NF4, 64, false }, { QuantKind.NF4, 32, true }, { QuantKind.NF4, 256, false },
    };

    /// <summary>Every format on the scalar loops, which run on any CPU, and on the AVX-512 ones where the CPU has them.</summary>
    public static TheoryData<QuantKind, int, bool, bool> Paths
    {
        get
        {
            var paths = new TheoryData<QuantKind, int, bool, bool>();
            (QuantKind Kind, int Group, bool DoubleQuant)[] formats =
                [(QuantKind.Int8, 0, false), (QuantKind.Int4, 32, false), (QuantKind.Int4, 128, false), (QuantKind.NF4, 64, false),
                 (QuantKind.NF4, 32, true), (QuantKind.NF4, 256, false)];
            foreach (var vectors in System.Runtime.Intrinsics.X86.Avx512BW.IsSupported ? new[] { false, true } : new[] { false })
            {
                foreach (var (kind, group, doubleQuant) in formats)
                    paths.Add(kind, group, doubleQuant, vectors);
            }
            return paths;
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void A_tile_holds_exactly_the_dequantized_bf16_values(QuantKind kind, int group, bool doubleQuant, bool vectors)
    {
        using var scope = NewDisposeScope();
        Bf16TileDequantizer.ForceScalar = !vectors;
        try
        {
            TileEqualsDequantized(kind, group, doubleQuant);
        }
        finally
        {
            Bf16TileDequantizer.ForceScalar = false;
        }
    }

    /// <summary>The Int8 tile's three loops: scalar, AVX-512 conversion, and AVX-512 VBMI byte tables, each where the CPU has it.</summary>
    public static TheoryData<string, int, bool> Int8Paths
    {
        get
        {
            var paths = new TheoryData<string, int, bool>();
            foreach (var name in VectorPaths(withTables: true))
            {
                foreach (var minus128 in new[] { true, false })
                {
                    paths.Add(name, 512, minus128);
                    paths.Add(name, 96, minus128); // 32 mod 64: the byte tables end a row with a half vector
                }
            }
            return paths;
        }
    }

    private static List<string> VectorPaths(bool withTables)
    {
        var names = new List<string> { "scalar" };
        if (System.Runtime.Intrinsics.X86.Avx512BW.IsSupported)
            names.Add("vector");
        if (withTables && System.Runtime.Intrinsics.X86.Avx512BW.IsSupported && System.Runtime.Intrinsics.X86.Avx512Vbmi.IsSupported)
            names.Add("tables");
        return names;
    }

    /// <summary>
    /// Every code byte, −128 included (a loaded state may hold it though quantizing never writes it; the byte tables then convert
    /// the row): each Int8 loop gives the codes' own bf16 values bit for bit (exact: no code has more than 8 significant bits), the
    /// scale being applied to the output. Codes with and without −128 are both checked.
    /// </summary>
    [Theory]
    [MemberData(nameof(Int8Paths))]
    public void Every_int8_code_becomes_its_exact_bf16_value(string path, int k, bool minus128)
    {
        using var scope = NewDisposeScope();
        const long rows = 12;
        var codes = arange(rows * k).remainder(256).sub(128).to(ScalarType.Int8).view(rows, k);
        if (!minus128)
            codes = codes.clamp(-127, 127);
        var tile = empty(new long[] { 9, k }, ScalarType.BFloat16);
        Bf16TileDequantizer.ForceScalar = path == "scalar";
        Bf16TileDequantizer.ForceNoByteTables = path == "vector";
        try
        {
            Bf16TileDequantizer.Int8(codes, 3, 9, tile);
        }
        finally
        {
            Bf16TileDequantizer.ForceScalar = false;
            Bf16TileDequantizer.ForceNoByteTables = false;
        }
        Assert.True(Identical(codes.narrow(0, 3, 9).to(ScalarType.BFloat16), tile), $"the {path} tile differs from the codes cast to bf16");
    }

    public static TheoryData<string, int, bool> ScalePaths
    {
        get
        {
            var paths = new TheoryData<string, int, bool>();
            foreach (var name in VectorPaths(withTables: false))
            {
                foreach (var withBias in new[] { true, false })
                {
                    paths.Add(name, 256, withBias);
                    paths.Add(name, 200, withBias); // 8 mod 16: the vector loop ends with scalar columns
                }
            }
            return paths;
        }
    }

    /// <summary>
    /// The Int8 output's scale and bias: <c>bf16(y·s + b)</c> with one fused multiply-add in fp32 and the fp32 scale unrounded, on
    /// the scalar and the vector loop alike, equals the float64 computation rounded to bf16 (a bf16 times an fp32 is exact in
    /// float64, and float64 → fp32 → bf16 is the fused multiply-add's double rounding), for scales from 1e-6 to 1e5, one negative.
    /// </summary>
    [Theory]
    [MemberData(nameof(ScalePaths))]
    public void The_int8_output_gets_its_scale_and_bias_in_one_rounding(string path, int n, bool withBias)
    {
        using var scope = NewDisposeScope();
        var y = randn(new long[] { 37, n }, generator: new Generator(5)).mul(100).to(ScalarType.BFloat16);
        var scale = rand(new long[] { n }, generator: new Generator(6)).add(0.1).mul(arange(n, dtype: ScalarType.Float32).remainder(12).sub(6).mul(System.Math.Log(10.0)).exp());
        scale[7] = scale[7].neg();
        var bias = withBias ? randn(new long[] { n }, generator: new Generator(8)).to(ScalarType.BFloat16) : null;
        var expected = y.to(ScalarType.Float64).mul(scale.to(ScalarType.Float64));
        if (bias is not null)
            expected = expected.add(bias.to(ScalarType.Float64));
        expected = expected.to(ScalarType.Float32).to(ScalarType.BFloat16);
        var output = y.clone();
        Bf16TileDequantizer.ForceScalar = path == "scalar";
        try
        {
            Bf16TileDequantizer.ScaleOutput(output, scale, bias);
        }
        finally
        {
            Bf16TileDequantizer.ForceScalar = false;
        }
        Assert.True(Identical(expected, output), $"the {path} loop's output differs from bf16(y·s + b)");
    }

    [Fact]
    public void The_int8_output_scaling_refuses_dtypes_it_would_misread()
    {
        using var scope = NewDisposeScope();
        var scale = ones(8);
        var error = Assert.Throws<System.ArgumentException>(() => Bf16TileDequantizer.ScaleOutput(zeros(2, 8), scale, null));
        Assert.Contains("bf16 output", error.Message);
        Assert.Throws<System.ArgumentException>(() => Bf16TileDequantizer.ScaleOutput(zeros(new long[] { 2, 8 }, ScalarType.BFloat16), scale, ones(8)));
        Assert.Throws<System.ArgumentException>(() => Bf16TileDequantizer.ScaleOutput(zeros(new long[] { 2, 8 }, ScalarType.BFloat16), scale.to(ScalarType.BFloat16), null));
    }

    /// <summary>
    /// NF4 with double quantization on rows of 34 blocks: the row decoder's sixteen-block vectors then straddle second-level blocks
    /// (256 blocks each) and rows end with a partial vector, both of which fall back to the scalar decode.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_double_quantized_tile_is_exact_where_blocks_straddle_second_level_scales(bool vectors)
    {
        using var scope = NewDisposeScope();
        Bf16TileDequantizer.ForceScalar = !vectors;
        try
        {
            TileEqualsDequantized(QuantKind.NF4, 32, true, width: 1088);
        }
        finally
        {
            Bf16TileDequantizer.ForceScalar = false;
        }
    }

    private static void TileEqualsDequantized(QuantKind kind, int group, bool doubleQuant, long width = 512)
    {
        using var layer = QuantizedLinear.FromLinear(GaussianLinear(width, 96, seed: group + 1), kind, group, doubleQuant, ScalarType.BFloat16);
        var state = layer.state_dict();
        var tile = empty(new long[] { 40, width }, ScalarType.BFloat16);
        const long start = 50;
        switch (kind)
        {
            case QuantKind.Int8: // the codes alone: the scale is applied to the output
                Bf16TileDequantizer.Int8(state["weight"], start, 40, tile);
                Assert.True(Identical(state["weight"].narrow(0, start, 40).to(ScalarType.BFloat16), tile), "the tile differs from the codes");
                return;
            case QuantKind.Int4:
                Bf16TileDequantizer.Int4(state["weight"], state["weight_scale"], state["weight_zero"], group, start, 40, tile);
                break;
            default:
                Tensor[] absmax = doubleQuant
                    ? [state["weight_absmax_q"], state["weight_absmax_scale"], state["weight_absmax_offset"]]
                    : [state["weight_absmax"]];
                Bf16TileDequantizer.NF4(state["weight"], absmax, group, start, 40, tile);
                break;
        }
        Assert.True(Identical(layer.Dequantize().narrow(0, start, 40), tile), "the tile differs from Dequantize()");
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void The_prefill_output_equals_the_dequantized_output(QuantKind kind, int group, bool doubleQuant)
    {
        using var scope = NewDisposeScope();
        using var linear = GaussianLinear(512, 96, seed: 3);
        using var layer = QuantizedLinear.FromLinear(linear, kind, group, doubleQuant, ScalarType.BFloat16);
        var x = GaussianInput(80, 512, seed: 4).to(ScalarType.BFloat16); // above every kernel's row limit
        var reference = nn.functional.linear(x, layer.Dequantize(), layer.bias);
        Tensor fast, aten;
        using (no_grad())
        {
            fast = layer.call(x);
            layer.UsePackedKernels = false; // per layer (no global switch other tests could see): libtorch's row tiles
            aten = layer.call(x);
        }
        Assert.Equal(ScalarType.BFloat16, fast.dtype);
        var f32 = fast.to(ScalarType.Float32);
        Assert.True(RelativeError(f32, reference.to(ScalarType.Float32)) < 1e-2);
        Assert.True(RelativeError(f32, aten.to(ScalarType.Float32)) < 1e-2);
        using var exact = linear.call(x.to(ScalarType.Float32));
        Assert.Equal(RelativeError(aten.to(ScalarType.Float32), exact), RelativeError(f32, exact), 2); // output error unchanged
    }
}
