using ModelGen.Quantization;
using static TorchSharp.torch;
using static ModelGen.Runtime.Tests.Quantization.QuantTestData;

namespace ModelGen.Runtime.Tests.Quantization;

/// <summary>QuantizeFrom works a row tile at a time (bounded temporaries for quantize-on-load); tiles must not change the result.</summary>
public sealed class QuantizeInTilesTests
{
    [Theory]
    [InlineData(QuantKind.Int8, 0)]
    [InlineData(QuantKind.Int4, 32)]
    [InlineData(QuantKind.NF4, 64)]
    public void A_weight_quantized_in_tiles_equals_its_rows_quantized_alone(QuantKind kind, int group)
    {
        // 64 inputs: a tile is 2^20 / 64 = 16,384 rows, so 40,000 rows take three tiles, the last one partial.
        using var big = GaussianLinear(64, 40_000, seed: 21, hasBias: false);
        using var layer = QuantizedLinear.FromLinear(big, kind, group);
        foreach (long start in new long[] { 0, 16_380, 39_990 })
        {
            using var rows = nn.Linear(64, 10, hasBias: false);
            using (no_grad())
                rows.weight!.copy_(big.weight!.narrow(0, start, 10));
            using var alone = QuantizedLinear.FromLinear(rows, kind, group);
            using var expected = alone.Dequantize();
            using var all = layer.Dequantize();
            Assert.True(Identical(expected, all.narrow(0, start, 10).contiguous()), $"rows {start}–{start + 9} differ");
        }
    }
}
