using System;
using System.Collections.Generic;
using ModelGen.Distributed;
using ModelGen.Optimizers;
using ModelGen.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Training;

/// <summary>
/// <see cref="PlanTraining"/> in one process: micro-batches accumulate to the whole batch's step, progress is reported, and the
/// plans it cannot run are refused with a message (ZeRO 3: PlanZero3Tests; 2 ranks: MpiTrainingTests' plan case).
/// </summary>
public sealed class PlanTrainingTests
{
    private static nn.Module<Tensor, Tensor> Model()
    {
        manual_seed(11);
        return nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.Linear(8, 3));
    }

    private static nn.Module<Tensor, Tensor> CopyOf(nn.Module<Tensor, Tensor> model)
    {
        var copy = Model();
        copy.load_state_dict(model.state_dict());
        return copy;
    }

    private static Tensor Mse(Tensor output, Tensor target) => (output - target).pow(2).mean();

    private static TrainingOptimizer Adam(IEnumerable<Parameter> parameters, OptimizerSettings settings) =>
        new ModelGen.Optimizers.AdamW(parameters, learningRate: 0.01, settings: settings);

    [Fact]
    public void Four_micro_batches_take_the_step_of_the_whole_batch()
    {
        var expected = Model();
        var reports = new List<TrainingProgress>();
        nn.Module<Tensor, Tensor>? actual = null;
        // The same weights by copy, not by reseeding: other test classes draw from the global generator in parallel.
        using var training = new PlanTraining(new TrainingPlan(), SingleProcessGroup.Instance, _ => actual = CopyOf(expected), Adam, Mse,
            microBatches: 4, progress: new Sync(reports.Add), totalSteps: 3);
        using var reference = Adam(expected.parameters(), new OptimizerSettings());
        for (var step = 0; step < 3; step++)
        {
            using var scope = NewDisposeScope();
            var input = randn(8, 6);
            var target = randn(8, 3);
            var loss = Mse(expected.call(input), target);
            var lossValue = loss.item<float>();
            loss.backward();
            reference.Step();
            Assert.Equal(lossValue, training.Step(input, target), 5);
        }
        foreach (var ((name, e), (_, a)) in System.Linq.Enumerable.Zip(expected.named_parameters(), actual!.named_parameters()))
            Assert.True(e.allclose(a, rtol: 1e-5, atol: 1e-6), name);
        Assert.Equal(3, reports.Count);
        Assert.Equal(3 * 8 * 6L, reports[^1].Tokens);
        Assert.Equal(1.0, reports[^1].Fraction);
    }

    [Fact]
    public void A_plan_for_more_ranks_than_the_job_names_the_launch()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            new PlanTraining(new TrainingPlan(TensorParallel: 2, DataParallel: 2), SingleProcessGroup.Instance, _ => Model(), Adam, Mse));
        Assert.Contains("mpirun -np 4", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void Parameter_offload_without_zero_stage_3_is_refused(int stage)
    {
        var error = Assert.Throws<NotSupportedException>(() => new PlanTraining(
            new TrainingPlan(ZeroStage: stage, OffloadParameters: true), SingleProcessGroup.Instance, _ => Model(), Adam, Mse));
        Assert.Contains("Plan ZeroStage = 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rows_that_do_not_split_into_the_micro_batches_are_refused()
    {
        using var training = new PlanTraining(new TrainingPlan(), SingleProcessGroup.Instance, _ => Model(), Adam, Mse, microBatches: 3);
        var error = Assert.Throws<ArgumentException>(() => training.Step(randn(8, 6), randn(8, 3)));
        Assert.Contains("3 equal micro-batches", error.Message, StringComparison.Ordinal);
    }

    private sealed class Sync(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
