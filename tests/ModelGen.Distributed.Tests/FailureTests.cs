using System.Collections.Generic;

namespace ModelGen.Distributed.Tests
{
    /// <summary>A failing rank ends the whole job quickly, non-zero, with a message naming it; nothing hangs.</summary>
    public sealed class FailureTests
    {
        private const double Limit = 30;

        [Fact]
        public void A_rank_that_throws_ends_the_job_and_is_named()
        {
            var job = MpiJob.Launch(2, new[] { "throw" }, timeoutSeconds: 60);
            JobAssert.FailedWithin(job, Limit, "rank 1 failed: System.InvalidOperationException: deliberate failure in the middle of a step");
            Assert.DoesNotContain("all-reduce returned", job.Output, System.StringComparison.Ordinal);
        }

        [Fact]
        public void A_rank_killed_mid_step_ends_the_job_and_is_named()
        {
            var job = MpiJob.Launch(2, new[] { "kill" }, timeoutSeconds: 60);
            // Open MPI's launcher reports it: "prterun noticed that process rank 1 with PID … exited on signal 9 (Killed)."
            JobAssert.FailedWithin(job, Limit, "rank 1", "signal 9");
            Assert.DoesNotContain("all-reduce returned", job.Output, System.StringComparison.Ordinal);
        }

        [Fact]
        public void A_grid_that_contradicts_the_world_size_fails_at_start_up()
        {
            var job = MpiJob.Launch(2, new[] { "grid-mismatch" }, timeoutSeconds: 60);
            JobAssert.FailedWithin(job, Limit, "tensor-parallel 3 × data-parallel 1 = 3 ranks, but this job has 2", "mpirun -np 3");
        }

        [Fact]
        public void A_launched_world_without_an_mpi_library_names_the_package_to_install()
        {
            var environment = new Dictionary<string, string>
            {
                ["OMPI_COMM_WORLD_SIZE"] = "2",
                ["OMPI_COMM_WORLD_RANK"] = "0",
                ["MODELGEN_MPI_LIBRARY"] = "/nonexistent/libmpi.so.40",
            };
            var job = MpiJob.Alone(new[] { "single" }, environment);
            JobAssert.FailedWithin(job, Limit, "OMPI_COMM_WORLD_SIZE=2", "/nonexistent/libmpi.so.40", "apt-get install openmpi-bin");
        }

        [Fact]
        public void A_process_started_without_a_launcher_is_a_world_of_one()
        {
            var job = MpiJob.Alone(new[] { "single", "collectives", "groups", "data-parallel" }, new Dictionary<string, string>());
            JobAssert.EveryRankPassed(job, 1, "single", "collectives", "groups", "data-parallel");
        }
    }
}
