using System;
using System.Linq;
using ModelGen;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Precision;

public sealed class LossScalerTests
{
    private static (Linear Model, Tensor Input) Setup()
    {
        manual_seed(21);
        return (nn.Linear(4, 3), randn(5, 4));
    }

    private static float[][] Snapshot(nn.Module model, bool gradients = false) =>
        model.parameters().Select(p => (gradients ? p.grad! : p).detach().clone().data<float>().ToArray()).ToArray();

    [Fact]
    public void Unscaled_gradients_equal_the_true_gradients()
    {
        var (model, input) = Setup();
        model.call(input).pow(2).mean().backward();
        var expected = Snapshot(model, gradients: true);
        model.zero_grad();

        // A power of two only shifts exponents, so scaling and unscaling are exact.
        var scaler = new LossScaler(initialScale: 1024);
        scaler.Scale(model.call(input).pow(2).mean()).backward();
        var scaled = Snapshot(model, gradients: true);
        Assert.Equal(expected[0].Select(g => g * 1024), scaled[0]);
        var optimizer = optim.SGD(model.parameters(), 0.0);
        Assert.True(scaler.Step(optimizer, model.parameters()));

        var unscaled = Snapshot(model, gradients: true);
        for (var i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i], unscaled[i]);
        Assert.Equal(0, scaler.SkippedSteps);
    }

    [Fact]
    public void Overflow_skips_the_step_and_halves_the_scale()
    {
        var (model, input) = Setup();
        var before = Snapshot(model);
        var optimizer = optim.SGD(model.parameters(), 0.1);
        // 2^120 times a loss of order one overflows fp32 (max ≈ 2^128) somewhere in the gradients.
        var scaler = new LossScaler(initialScale: Math.Pow(2, 120));

        scaler.Scale((model.call(input) * 1000).pow(2).sum()).backward();
        var stepped = scaler.Step(optimizer, model.parameters());

        Assert.False(stepped);
        Assert.Equal(1, scaler.SkippedSteps);
        Assert.Equal(Math.Pow(2, 119), scaler.CurrentScale);
        Assert.Equal(before, Snapshot(model));
    }

    [Fact]
    public void A_nan_gradient_also_skips_the_step()
    {
        var (model, input) = Setup();
        var optimizer = optim.SGD(model.parameters(), 0.1);
        var scaler = new LossScaler(initialScale: 8);
        scaler.Scale(model.call(input).sum()).backward();
        model.bias!.grad![0] = float.NaN;

        Assert.False(scaler.Step(optimizer, model.parameters()));
        Assert.Equal(4, scaler.CurrentScale);
    }

    [Fact]
    public void Clean_steps_grow_the_scale_after_the_interval_and_an_overflow_restarts_the_count()
    {
        var (model, input) = Setup();
        var optimizer = optim.SGD(model.parameters(), 0.01);
        var scaler = new LossScaler(initialScale: 256, growthInterval: 3);
        bool TrainStep()
        {
            optimizer.zero_grad();
            scaler.Scale(model.call(input).pow(2).mean()).backward();
            return scaler.Step(optimizer, model.parameters());
        }

        Assert.True(TrainStep());
        Assert.True(TrainStep());
        Assert.Equal(256, scaler.CurrentScale);
        Assert.True(TrainStep());
        Assert.Equal(512, scaler.CurrentScale);

        Assert.True(TrainStep());
        optimizer.zero_grad();
        scaler.Scale(model.call(input).sum()).backward();
        model.weight.grad![0, 0] = float.PositiveInfinity;
        Assert.False(scaler.Step(optimizer, model.parameters()));
        Assert.Equal(256, scaler.CurrentScale);
        Assert.True(TrainStep());
        Assert.True(TrainStep());
        Assert.Equal(256, scaler.CurrentScale);
        Assert.True(TrainStep());
        Assert.Equal(512, scaler.CurrentScale);
    }

    [Fact]
    public void Scale_returns_fp32_so_an_fp16_loss_does_not_overflow()
    {
        var scaler = new LossScaler();
        var loss = tensor(3.0f).to_type(ScalarType.Float16);

        var scaled = scaler.Scale(loss);

        Assert.Equal(ScalarType.Float32, scaled.dtype);
        Assert.Equal(3.0f * 65536, scaled.item<float>());
    }

    [Fact]
    public void Bad_settings_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LossScaler(initialScale: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LossScaler(initialScale: double.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LossScaler(growthInterval: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LossScaler(growthFactor: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LossScaler(backoffFactor: 1));
        Assert.Throws<ArgumentException>(() => new LossScaler().Scale(ones(1, dtype: ScalarType.Int32)));
    }
}
