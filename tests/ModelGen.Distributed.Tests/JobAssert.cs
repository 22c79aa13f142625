using System.Linq;

namespace ModelGen.Distributed.Tests
{
    internal static class JobAssert
    {
        /// <summary>The job exited 0 and every rank reported every case as passed.</summary>
        public static void EveryRankPassed(JobResult job, int ranks, params string[] cases)
        {
            Assert.False(job.TimedOut, job.ToString());
            Assert.True(job.ExitCode == 0, job.ToString());
            foreach (var rank in Enumerable.Range(0, ranks))
                foreach (var name in cases)
                    Assert.True(job.Output.Contains($"rank {rank}: {name} ok (", System.StringComparison.Ordinal), $"rank {rank} did not report '{name} ok'.\n{job}");
        }

        /// <summary>The job ended by itself within the limit, non-zero, and said <paramref name="message"/>.</summary>
        public static void FailedWithin(JobResult job, double seconds, params string[] messages)
        {
            Assert.False(job.TimedOut, $"The job hung until killed.\n{job}");
            Assert.True(job.Elapsed.TotalSeconds < seconds, $"The job took {job.Elapsed.TotalSeconds:F1} s to end, more than {seconds} s.\n{job}");
            Assert.True(job.ExitCode != 0, $"The job exited 0.\n{job}");
            foreach (var message in messages)
                Assert.True(job.Output.Contains(message, System.StringComparison.Ordinal), $"The output lacks '{message}'.\n{job}");
        }
    }
}
