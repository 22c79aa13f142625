using ModelGen.Distributed.Tests;

namespace ModelGen.Parallel.Tests;

/// <summary>
/// The precision policy through the generated plans at TP 2 × DP 2 (4 ranks under mpirun): generated-precision trains bf16 with fp32
/// master weights and fp16 with masters and loss scaling, with ZeRO 1 and ZeRO 3, both with sequence parallelism, through the generated
/// CreateTraining; losses and final gathered weights equal one process; a run without masters fails the same check; each rank's
/// moments and masters equal the memory model's optimizer term; an overflow in one tensor-parallel slice skips the step everywhere.
/// gathered-logits: CreateTraining of a vocab-parallel plan without GatheredLogits refuses a loss of its own, naming the opt-in.
/// </summary>
public sealed class GeneratedPlanPrecisionTests
{
    [Fact]
    public void Sixteen_bit_plans_with_masters_and_loss_scaling_equal_one_process_and_a_given_loss_is_refused()
    {
        var cases = new[] { "generated-precision", "gathered-logits" };
        var job = MpiJob.Launch(4, cases, timeoutSeconds: 600);
        JobAssert.EveryRankPassed(job, 4, cases);
    }
}
