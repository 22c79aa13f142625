using System;
using ModelGen.Memory;

namespace ModelGen.Core.Tests.Memory
{
    public class KvCacheSizeTests
    {
        [Theory]
        // layers, batch, kvHeads, headDim, capacity, element, int8, expected (written out term by term)
        [InlineData(2, 1, 2, 16, 24, 4, false, 2L * 24 * ((2 * (2 * 16 * 4)) + 1))]
        [InlineData(2, 3, 2, 16, 24, 2, true, 2L * 3 * 24 * ((2 * ((2 * 16 * 1) + 8)) + 1))]
        [InlineData(32, 1, 8, 128, 4096, 2, false, 32L * 4096 * ((8 * 2 * 128 * 2) + 1))] // Mistral's 4096 window, bf16
        public void Bytes_are_keys_values_scales_and_one_validity_byte_per_slot(long layers, long batch, long kvHeads, long headDim,
            long capacity, long element, bool int8, long expected)
        {
            Assert.Equal(expected, KvCacheSize.Bytes(layers, batch, kvHeads, headDim, capacity, element, int8));
        }

        [Fact]
        public void Capacity_is_the_window_when_shorter_than_the_maximum_length()
        {
            Assert.Equal(4096, KvCacheSize.Capacity(8192, 4096));
            Assert.Equal(1000, KvCacheSize.Capacity(1000, 4096));
            Assert.Equal(8192, KvCacheSize.Capacity(8192, null));
        }

        [Fact]
        public void Bad_sizes_are_named()
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => KvCacheSize.Bytes(1, -1, 1, 1, 1, 2, false));
            Assert.Contains("batch", e.Message, StringComparison.Ordinal);
            Assert.Throws<ArgumentOutOfRangeException>(() => KvCacheSize.Bytes(1, 1, 1, 1, 1, 0, false));
            Assert.Throws<OverflowException>(() => KvCacheSize.Bytes(long.MaxValue / 2, 4, 1, 1, 1, 2, false));
        }
    }
}
