using System;
using ModelGen.Quantization;

namespace ModelGen.Core.Tests.Quantization;

/// <summary>The byte arithmetic of each quantized layout, checked against the figures the papers and the design state.</summary>
public sealed class QuantLayoutTests
{
    [Theory]
    [InlineData(QuantKind.Int8, 0, false, 1.0)]
    [InlineData(QuantKind.Int4, 32, false, 0.625)]
    [InlineData(QuantKind.Int4, 64, false, 0.5625)]
    [InlineData(QuantKind.Int4, 0, false, 0.53125)]          // g128, bf16 scale + zero: "≈ 0.53 B/param"
    [InlineData(QuantKind.NF4, 0, false, 0.5625)]            // block 64, fp32 absmax: 4.5 bits
    [InlineData(QuantKind.NF4, 64, true, 0.515869140625)]    // QLoRA §3: 4 + 8/64 + 32/(64·256) = 4.127 bits
    public void Bytes_per_parameter_match_the_published_figures(QuantKind kind, int groupSize, bool doubleQuant, double expected)
    {
        Assert.Equal(expected, QuantLayout.BytesPerParameter(kind, groupSize, doubleQuant));
    }

    [Fact]
    public void Double_quantization_costs_the_bits_QLoRA_reports()
    {
        double bits = 8 * (QuantLayout.BytesPerParameter(QuantKind.NF4, 64, true) - 0.5);
        Assert.Equal(0.127, bits, 3);
    }

    [Theory]
    [InlineData(QuantKind.Int8, 0, false, 4096L, 11008L, 4096L * 11008 + 4 * 11008)]
    [InlineData(QuantKind.Int4, 128, false, 4096L, 11008L, 4096L * 11008 / 2 + 4 * (4096L * 11008 / 128))]
    [InlineData(QuantKind.NF4, 64, false, 4096L, 11008L, 4096L * 11008 / 2 + 4 * (4096L * 11008 / 64))]
    // 704512 blocks = 2752 second-level scales exactly, + 4 bytes of offset
    [InlineData(QuantKind.NF4, 64, true, 4096L, 11008L, 4096L * 11008 / 2 + 704512 + 4 * 2752 + 4)]
    // 15 blocks: one (mostly empty) second-level scale
    [InlineData(QuantKind.NF4, 64, true, 192L, 5L, 192 * 5 / 2 + 15 + 4 + 4)]
    public void Weight_bytes_count_codes_and_every_constant(QuantKind kind, int groupSize, bool doubleQuant, long inFeatures, long outFeatures, long expected)
    {
        Assert.Equal(expected, QuantLayout.WeightBytes(kind, groupSize, doubleQuant, inFeatures, outFeatures));
    }

    [Theory]
    [InlineData(QuantKind.Int4, 0, 128)]
    [InlineData(QuantKind.NF4, 0, 64)]
    [InlineData(QuantKind.Int4, 32, 32)]
    [InlineData(QuantKind.Int8, 0, 512)]
    public void The_default_group_size_is_the_kinds_own(QuantKind kind, int groupSize, int expected)
    {
        Assert.Equal(expected, QuantLayout.ResolveGroupSize(kind, groupSize, false, 512, 8));
    }

    [Theory]
    [InlineData(QuantKind.Int4, 32, false, 100L, "divisible by 32")]
    [InlineData(QuantKind.Int4, 48, false, 96L, "32, 64 or 128")]
    [InlineData(QuantKind.Int8, 0, true, 64L, "NF4 only")]
    [InlineData(QuantKind.None, 0, false, 64L, "QuantKind.None")]
    public void An_invalid_layout_is_named_in_the_message(QuantKind kind, int groupSize, bool doubleQuant, long inFeatures, string message)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => QuantLayout.WeightBytes(kind, groupSize, doubleQuant, inFeatures, 8));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_rate_alone_rejects_an_invalid_group()
    {
        Assert.Throws<ArgumentException>(() => QuantLayout.BytesPerParameter(QuantKind.NF4, 48, false));
        Assert.Throws<ArgumentException>(() => QuantLayout.BytesPerParameter(QuantKind.Int4, 64, true));
    }
}
