using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Optimizers;
using ModelGen.Runtime.Tests.Optimizers;
using ModelGen.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Training;

/// <summary>
/// <see cref="PlanTraining"/> with a <see cref="LossScaler"/> (fp16 weights, fp32 masters) in one process: its steps equal the
/// hand-written scaled loop, an overflowing step is skipped with the weights untouched, and an overflow in one tensor-parallel slice
/// skips the step on every rank of the group (thread ranks); clipping under tensor parallelism is refused, not computed wrongly.
/// The same through the generated CreateTraining at TP 2 × DP 2: tools/ModelGen.Parallel.Worker/GeneratedPrecisionCase.cs.
/// </summary>
public sealed class PlanTrainingLossScalingTests
{
    private static nn.Module<Tensor, Tensor> Model()
    {
        var model = nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.Linear(8, 3));
        model.to(ScalarType.Float16);
        return model;
    }

    private static Tensor Mse(Tensor output, Tensor target) => (output - target).pow(2).mean();

    private static TrainingOptimizer Adam(IEnumerable<Parameter> parameters, OptimizerSettings settings) =>
        new ModelGen.Optimizers.AdamW(parameters, learningRate: 1e-3, settings: settings);

    [Fact]
    public void Scaled_fp16_steps_in_two_micro_batches_equal_the_scaled_loop_on_the_whole_batch()
    {
        var expected = Model();
        var actual = Model();
        actual.load_state_dict(expected.state_dict());
        var scaler = new LossScaler(initialScale: 1024);
        using var training = new PlanTraining(new TrainingPlan(), SingleProcessGroup.Instance, _ => actual, Adam, Mse, microBatches: 2,
            lossScaler: scaler);
        Assert.Same(scaler, training.LossScaler);
        var referenceScaler = new LossScaler(initialScale: 1024);
        using var reference = Adam(expected.parameters(), new OptimizerSettings());
        var generator = new Generator(7);
        for (var step = 0; step < 3; step++)
        {
            using var scope = NewDisposeScope();
            var input = randn(8, 6, generator: generator).to(ScalarType.Float16);
            var target = randn(8, 3, generator: generator);
            var loss = Mse(expected.call(input).to_type(ScalarType.Float32), target);
            BackwardFailures.Backward(referenceScaler.Scale(loss));
            Assert.True(reference.Step(referenceScaler));
            // fp16: two micro-batches' mean and the whole batch's loss differ by fp16 rounding (≈ 2e-4 here); an absolute tolerance,
            // not rounding to 3 decimals, which failed whenever the two straddled a rounding boundary.
            Assert.Equal(loss.item<float>(), training.Step(input, target), 1e-3);
        }
        Assert.Equal(0, scaler.SkippedSteps);
        foreach (var ((name, e), (_, a)) in expected.named_parameters().Zip(actual.named_parameters()))
            Assert.True(e.to_type(ScalarType.Float32).allclose(a.to_type(ScalarType.Float32), rtol: 2e-3, atol: 2e-4), name);
    }

    [Fact]
    public void A_step_whose_scaled_gradients_overflow_is_skipped_and_the_scale_backs_off()
    {
        var model = Model();
        var before = model.parameters().Select(p => p.detach().clone()).ToList();
        // 2^40 times the loss overflows fp16's gradients (largest finite 65504).
        var scaler = new LossScaler(initialScale: Math.Pow(2, 40));
        using var training = new PlanTraining(new TrainingPlan(), SingleProcessGroup.Instance, _ => model, Adam, Mse, lossScaler: scaler);
        training.Step(ones(4, 6).to(ScalarType.Float16), zeros(4, 3));
        Assert.Equal(1, scaler.SkippedSteps);
        Assert.Equal(Math.Pow(2, 39), scaler.CurrentScale);
        foreach (var (p, b) in model.parameters().Zip(before))
            Assert.True(p.detach().eq(b).all().item<bool>());
    }

    [Fact]
    public void An_overflow_in_one_tensor_parallel_slice_skips_the_step_on_every_rank()
    {
        var stepped = new bool[2];
        var scales = new double[2];
        ThreadedGroup.Run(2, group => {
            var weight = new Parameter(ones(4, dtype: ScalarType.Float16));
            var scaler = new LossScaler(initialScale: 8);
            using var optimizer = new ModelGen.Optimizers.AdamW(new[] { weight }, learningRate: 0.1, settings: new OptimizerSettings { TensorParallel = group });
            weight.grad = group.Rank == 0 ? full(4, double.PositiveInfinity, dtype: ScalarType.Float16) : ones(4, dtype: ScalarType.Float16);
            stepped[group.Rank] = optimizer.Step(scaler);
            scales[group.Rank] = scaler.CurrentScale;
        });
        Assert.Equal(new[] { false, false }, stepped);
        Assert.Equal(new[] { 4.0, 4.0 }, scales);
    }

    [Fact]
    public void Clipping_under_tensor_parallelism_needs_the_copies_and_is_refused_with_zero_3()
    {
        ThreadedGroup.Run(2, group => {
            var settings = new OptimizerSettings { TensorParallel = group, MaxGradientNorm = 1.0 };
            var refused = Assert.Throws<ArgumentException>(settings.Validate);
            Assert.Contains("MaxGradientNorm with 2 tensor-parallel ranks needs TensorParallelCopies", refused.Message, StringComparison.Ordinal);
            var counted = settings with { TensorParallelCopies = _ => 1 };
            counted.Validate(); // accepted: the norm is computed (tested under mpirun, clip-norm)
            var zero3 = Assert.Throws<ArgumentException>((counted with { ZeroStage = 3 }).Validate);
            Assert.Contains("needs ZeRO stage 0, 1 or 2", zero3.Message, StringComparison.Ordinal);
        });
    }
}
