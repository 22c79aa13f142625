namespace ModelGen.Distributed.Tests
{
    /// <summary>
    /// Every collective × every dtype × even and uneven sizes against references each rank computes, plus Split and every
    /// TP × DP grid of the world, in one launch per world size (launches dominate the run time).
    /// </summary>
    public sealed class CollectiveTests
    {
        [Theory]
        [InlineData(1)] // an MPI world of one: every collective still goes through MPI
        [InlineData(2)]
        [InlineData(4)]
        public void Collectives_and_groups_match_their_references(int ranks)
        {
            var cases = ranks == 1 ? new[] { "signals", "collectives", "groups", "data-parallel" } : new[] { "signals", "collectives", "groups" };
            var job = MpiJob.Launch(ranks, cases);
            JobAssert.EveryRankPassed(job, ranks, cases);
        }

        [Fact]
        public void Collectives_match_their_references_over_tcp_without_shared_memory()
        {
            var job = MpiJob.Launch(2, new[] { "collectives" }, MpiJob.TcpOnly);
            JobAssert.EveryRankPassed(job, 2, "collectives");
        }
    }
}
