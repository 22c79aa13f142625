using System;
using System.IO;
using ModelGen.Distributed.Tests;

namespace ModelGen.Runtime.Tests.Training;

/// <summary>
/// ZeRO 1, 2, 3 and offload over real MPI (tools/ModelGen.Training.Worker under mpirun, Open MPI over loopback): after 5 AdamW
/// steps every rank's parameters equal plain AdamW on one rank within fp32 rounding; a checkpoint saved by 4 ranks loads on 2
/// and on 1 with identical outputs. The worker computes its references itself and reports "rank R: CASE ok".
/// </summary>
[Collection(MpiCollection.Name)]
public sealed class MpiTrainingTests
{
    [Theory]
    [InlineData("zero1")]
    [InlineData("zero2")]
    [InlineData("zero2-fold")]
    [InlineData("offload")]
    [InlineData("offload-fold")]
    [InlineData("zero3")]
    [InlineData("zero3-offload")]
    public void Two_ranks_equal_plain_AdamW_on_one_rank(string stage)
    {
        var job = MpiJob.Launch(2, [stage]);
        JobAssert.EveryRankPassed(job, 2, stage);
    }

    [Fact]
    public void The_plan_training_step_on_2_ranks_equals_one_process_on_the_whole_batch()
    {
        var job = MpiJob.Launch(2, ["plan"]);
        JobAssert.EveryRankPassed(job, 2, "plan");
    }

    [Fact]
    public void Generated_ZeRO_3_of_stacked_layers_with_a_mask_and_an_optional_input_equals_plain_AdamW_on_one_rank()
    {
        var job = MpiJob.Launch(2, ["zero3-multi"]);
        JobAssert.EveryRankPassed(job, 2, "zero3-multi");
    }

    [Fact]
    public void Generated_tensor_parallel_2_by_ZeRO_3_data_parallel_2_equals_plain_AdamW_on_one_rank()
    {
        var job = MpiJob.Launch(4, ["tp-zero3"]);
        JobAssert.EveryRankPassed(job, 4, "tp-zero3");
    }

    [Fact]
    public void Training_saved_after_3_steps_on_2_ranks_resumes_on_1_and_on_4_as_5_uninterrupted_steps()
    {
        var directory = Path.Combine(Path.GetTempPath(), "modelgen-mpi-resume-" + Guid.NewGuid().ToString("N"));
        try {
            var save = MpiJob.Launch(2, ["resume-save", directory]);
            Assert.True(save.ExitCode == 0, save.ToString());
            foreach (var ranks in new[] { 1, 4 }) {
                var load = MpiJob.Launch(ranks, ["resume-load", directory]);
                JobAssert.EveryRankPassed(load, ranks, "resume-load");
            }
        } finally {
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void A_checkpoint_saved_by_4_ranks_loads_on_2_and_on_1()
    {
        var directory = Path.Combine(Path.GetTempPath(), "modelgen-mpi-ckpt-" + Guid.NewGuid().ToString("N"));
        try {
            var save = MpiJob.Launch(4, ["save", directory]);
            Assert.True(save.ExitCode == 0, save.ToString());
            Assert.True(File.Exists(Path.Combine(directory, "index.json")), save.ToString());
            foreach (var ranks in new[] { 2, 1 }) {
                var load = MpiJob.Launch(ranks, ["load", directory]);
                JobAssert.EveryRankPassed(load, ranks, "load");
            }
        } finally {
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
        }
    }
}

/// <summary>MPI jobs run one at a time: each starts several processes on a 2-core machine.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MpiCollection
{
    public const string Name = "MPI jobs";
}
