using System;
using static TorchSharp.torch;

namespace ModelGen.Distributed.Tests
{
    /// <summary>The world of one refuses what the MPI group refuses, so code that passes on one rank does not first fail on two.</summary>
    public sealed class SingleProcessGroupTests
    {
        private static readonly ProcessGroup One = SingleProcessGroup.Instance;

        [Fact]
        public void An_integer_average_is_refused_as_on_many_ranks()
        {
            using var counts = tensor(new long[] { 1, 2, 3 });
            Assert.Contains("no single rounding", Assert.Throws<ArgumentException>(() => One.AllReduce(counts, ReduceOp.Average)).Message);
            Assert.Throws<ArgumentException>(() => One.ReduceScatter(counts, ReduceOp.Average).Dispose());
            One.AllReduce(counts, ReduceOp.Sum);
            Assert.Equal(new long[] { 1, 2, 3 }, counts.data<long>().ToArray());
        }

        [Fact]
        public void A_dtype_mpi_cannot_carry_is_refused()
        {
            using var flags = tensor(new[] { true, false });
            Assert.Throws<NotSupportedException>(() => One.AllReduce(flags));
            Assert.Throws<NotSupportedException>(() => One.Broadcast(flags));
        }

        [Fact]
        public void Gathering_a_scalar_is_refused_and_a_vector_is_copied()
        {
            using var scalar = tensor(1.5f);
            Assert.Throws<ArgumentException>(() => One.AllGather(scalar).Dispose());
            using var vector = tensor(new[] { 1f, 2f });
            using var gathered = One.AllGather(vector);
            Assert.Equal(new[] { 1f, 2f }, gathered.data<float>().ToArray());
            gathered.add_(1);
            Assert.Equal(new[] { 1f, 2f }, vector.data<float>().ToArray());
        }
    }
}
