using ModelGen.Memory;

namespace ModelGen.Core.Tests.Memory
{
    public sealed class BreakdownTests
    {
        private const long GB = 1L << 30;

        [Fact]
        public void Printed_parts_add_up_to_the_printed_total()
        {
            // Three parts of 1.26 GB: rounded alone they print 1.3 + 1.3 + 1.3 = 3.9, but the total is 3.78 -> 3.8.
            // Floors are 1.2 each (3.6); the two missing tenths go to the first two (equal remainders, earlier first).
            var part = (long)(1.26 * GB);
            var (total, parts) = Breakdown.Format(new[] { ("weights", part), ("gradients", part), ("optimizer", part) });
            Assert.Equal("3.8", total);
            Assert.Equal("weights 1.3 GB, gradients 1.3 GB, optimizer 1.2 GB", parts);
        }

        [Fact]
        public void Zero_parts_are_left_out()
        {
            var (total, parts) = Breakdown.Format(new[] { ("weights", 2 * GB), ("gradients", 0L), ("activations", GB / 2) });
            Assert.Equal("2.5", total);
            Assert.Equal("weights 2.0 GB, activations 0.5 GB", parts);
        }

        [Fact]
        public void Named_parts_are_shown_even_when_zero()
        {
            var (total, parts) = Breakdown.Format(new[] { ("weights", 2 * GB), ("activations", 0L), ("transients", 0L) }, new[] { "activations" });
            Assert.Equal("2.0", total);
            Assert.Equal("weights 2.0 GB, activations 0.0 GB", parts);
        }

        [Fact]
        public void Budgets_print_as_written()
        {
            Assert.Equal("24", Breakdown.Budget(24));
            Assert.Equal("79.6", Breakdown.Budget(79.6));
            Assert.Equal("1.5", Breakdown.Gigabytes(3 * GB / 2));
        }
    }
}
