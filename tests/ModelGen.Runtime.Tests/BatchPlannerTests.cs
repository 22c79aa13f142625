using System;
using ModelGen.Memory;
using ModelGen.Specs;

namespace ModelGen.Runtime.Tests;

public class BatchPlannerTests
{
    // A one-layer MLP model, fp32: what the plan must respect is the memory model's own answer.
    private static readonly ModelSpec Model = new(
        new LayerSpec("Demo", "Mlp", "global::Demo.Mlp", "public", "global::Demo.Cfg", true,
            EquatableArray.Create<BlockSpec>(
                new LinearSpec("Up", "up", Dim.Literal(1024), Dim.Literal(4096), true),
                new LinearSpec("Down", "down", Dim.Literal(4096), Dim.Literal(1024), true)),
            new ForwardSpec("Forward", "x")),
        EquatableArray.Create<LayerSpec>());

    private static readonly ScenarioSpec Training = new(0, Workload.Training, 2048, 1, Optimizer.AdamW);

    [Theory]
    [InlineData(64)]
    [InlineData(96)]
    [InlineData(7)]
    public void Micro_batch_is_the_largest_divisor_of_the_target_that_fits(long target)
    {
        var budget = MemoryModel.Estimate(Model, Training with { Batch = 5 }, DeviceProfile.Cpu).PeakBytes;

        var plan = BatchPlanner.Plan(Model, Training, target, budget, DeviceProfile.Cpu);

        Assert.Equal(0, target % plan.MicroBatch);
        Assert.Equal(target, plan.MicroBatch * plan.AccumulationSteps);
        Assert.True(plan.PeakBytes <= budget);
        Assert.Equal(MemoryModel.Estimate(Model, Training with { Batch = plan.MicroBatch }, DeviceProfile.Cpu).PeakBytes, plan.PeakBytes);
        // No larger divisor of the target fits.
        for (var larger = plan.MicroBatch + 1; larger <= target; larger++)
        {
            if (target % larger == 0)
                Assert.True(MemoryModel.Estimate(Model, Training with { Batch = larger }, DeviceProfile.Cpu).PeakBytes > budget, $"{larger} also fits");
        }
    }

    [Fact]
    public void A_target_that_fits_whole_needs_no_accumulation()
    {
        var plan = BatchPlanner.Plan(Model, Training, 4, 1L << 40, DeviceProfile.Cpu);
        Assert.Equal(new BatchPlan(4, 1, plan.PeakBytes, 1L << 40), plan);
    }

    [Fact]
    public void Nothing_fits_says_what_one_sequence_needs()
    {
        var error = Assert.Throws<InvalidOperationException>(() => BatchPlanner.Plan(Model, Training, 8, 1L << 20, DeviceProfile.Cpu));
        Assert.Contains("'Mlp' does not fit 0.0 GB even with one sequence of 2048 tokens", error.Message, StringComparison.Ordinal);
        Assert.Contains("weights", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 1024)]
    [InlineData(4, 0)]
    public void Bad_arguments_are_rejected(long target, long budget) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => BatchPlanner.Plan(Model, Training, target, budget));
}
