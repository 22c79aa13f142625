using System;
using System.Linq;
using ModelGen.Quantization;
using static TorchSharp.torch;
using static ModelGen.Runtime.Tests.Quantization.QuantTestData;

namespace ModelGen.Runtime.Tests.Quantization;

/// <summary>The byte layouts: nibble order and the NF4 code table.</summary>
public sealed class PackingTests
{
    [Theory]
    [InlineData(NibbleOrder.LowFirst, 0x21)]
    [InlineData(NibbleOrder.HighFirst, 0x12)]
    public void Two_codes_share_one_byte_in_the_documented_order(NibbleOrder order, int expected)
    {
        using var codes = tensor(new byte[] { 1, 2 });
        using var packed = NibblePacking.Pack(codes, order);

        Assert.Equal(new byte[] { (byte)expected }, packed.data<byte>().ToArray());
    }

    [Theory]
    [InlineData(NibbleOrder.LowFirst)]
    [InlineData(NibbleOrder.HighFirst)]
    public void Unpack_inverts_pack(NibbleOrder order)
    {
        using var codes = randint(0, 16, new long[] { 3, 10 }, ScalarType.Byte, generator: new Generator(31));
        using var packed = NibblePacking.Pack(codes, order);
        using var unpacked = NibblePacking.Unpack(packed, order);

        Assert.Equal(new long[] { 3, 5 }, packed.shape);
        Assert.True(Identical(unpacked, codes));
    }

    [Theory]
    [InlineData(NibbleOrder.LowFirst, ScalarType.Float32)]
    [InlineData(NibbleOrder.HighFirst, ScalarType.BFloat16)]
    public void Decode_gives_the_value_of_each_unpacked_code(NibbleOrder order, ScalarType dtype)
    {
        using var codes = randint(0, 16, new long[] { 4, 12 }, ScalarType.Byte, generator: new Generator(32));
        using var packed = NibblePacking.Pack(codes, order);
        using var decoded = NibblePacking.Decode(packed, NormalFloat4.Values, order, dtype);
        using var expected = NormalFloat4.Decode(codes).to(dtype);

        Assert.True(Identical(decoded, expected));
    }

    [Fact]
    public void Packing_rejects_codes_above_fifteen_and_odd_lengths()
    {
        using var large = tensor(new byte[] { 1, 16 });
        using var odd = tensor(new byte[] { 1, 2, 3 });

        Assert.Throws<ArgumentException>(() => NibblePacking.Pack(large, NibbleOrder.LowFirst));
        Assert.Throws<ArgumentException>(() => NibblePacking.Pack(odd, NibbleOrder.LowFirst));
    }

    [Fact]
    public void NF4_encodes_each_table_value_as_its_code_and_decodes_it_back()
    {
        using var values = NormalFloat4.ValuesTensor();
        using var codes = NormalFloat4.Encode(values);
        using var decoded = NormalFloat4.Decode(codes);

        Assert.Equal(Enumerable.Range(0, 16).Select(i => (byte)i), codes.data<byte>().ToArray());
        Assert.True(Identical(decoded, values));
        Assert.Equal(0f, NormalFloat4.Values[7]);
    }

    [Fact]
    public void NF4_rounds_to_the_nearest_value_and_its_worst_case_is_half_the_widest_gap()
    {
        using var points = linspace(-1, 1, 20001);
        using var codes = NormalFloat4.Encode(points);
        using var decoded = NormalFloat4.Decode(codes);
        using var error = (decoded - points).abs_();

        // The table is asymmetric (8 negative values, 7 positive): the widest gap is the bottom one.
        Assert.Equal((1.0 - 0.6961928009986877) / 2, NormalFloat4.MaxRoundingError, 7);
        Assert.True(error.max().item<float>() <= NormalFloat4.MaxRoundingError + 1e-7);
    }
}
