namespace ModelGen.Distributed.Tests
{
    /// <summary>
    /// DistributedDataParallel on 2 and 4 ranks: gradients equal one process's on the concatenated batch (with buckets small
    /// enough that some start during backward, and with the default 25 MiB), NoSync keeps gradients local, and four
    /// accumulated micro-batches equal one batch of four.
    /// </summary>
    public sealed class DataParallelTests
    {
        [Theory]
        [InlineData(2)]
        [InlineData(4)]
        public void Data_parallel_gradients_equal_single_process_gradients_of_the_whole_batch(int ranks)
        {
            var job = MpiJob.Launch(ranks, new[] { "data-parallel" });
            JobAssert.EveryRankPassed(job, ranks, "data-parallel");
        }
    }
}
