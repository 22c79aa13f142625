using System.Linq;

using ModelGen.Distributed.Tests;

namespace ModelGen.Parallel.Tests;

/// <summary>
/// Tensor and sequence parallelism at degree 2 and 4 under mpirun. One launch per degree runs every case (ranks start once):
/// big (only the shard is allocated), blocks and stacks (outputs and every gradient equal the unsharded runtime blocks, with and
/// without sequence parallelism and checkpointing), rng (dropout streams), plans (bad plans fail clearly), reshard (state moves
/// between degrees), generated (models the generator built from [Shard], against the same classes built whole; at 2 ranks the
/// generated CreateTraining of a TP 2 sequence-parallel plan), generated-decode (greedy KV-cache decoding of the generated models
/// equal to the whole model's, with a per-rank cache of the rank's heads), generated-big (a 70B-like generated model built per rank on the
/// meta device), master-weights at 2 ranks (bf16 with fp32 master weights, fp16 with masters and loss scaling, 5 AdamW
/// steps equal to one process; a run without masters fails the same check), and at 4 ranks train (TP 2 × DP 2, 20 steps, loss curve equal to one process) and generated-train (the same
/// through the generated CreateTraining of TP 2 × DP 2 plans, with the vocab-parallel loss); clip-norm at both degrees (gradients
/// clipped by the global norm, each slice and each replicated tensor counted once, equal to one process).
/// </summary>
public sealed class TensorParallelTests
{
    private static readonly string[] Cases = { "big", "blocks", "stacks", "rng", "plans", "reshard", "generated", "generated-big", "generated-decode", "clip-norm" };

    [Fact]
    public void Degree_2_equals_the_unsharded_model()
    {
        var cases = Cases.Append("master-weights").ToArray();
        var job = MpiJob.Launch(2, cases, timeoutSeconds: 600);
        JobAssert.EveryRankPassed(job, 2, cases);
    }

    [Fact]
    public void Degree_4_and_tp2_x_dp2_training_equal_the_unsharded_model()
    {
        var cases = Cases.Append("train").Append("generated-train").ToArray();
        var job = MpiJob.Launch(4, cases, timeoutSeconds: 600);
        JobAssert.EveryRankPassed(job, 4, cases);
    }
}
