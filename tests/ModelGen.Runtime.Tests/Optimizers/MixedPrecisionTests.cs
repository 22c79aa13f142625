using System;
using System.Linq;
using ModelGen.Optimizers;
using TorchSharp;
using static ModelGen.Runtime.Tests.Optimizers.OptimizerTestModels;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Optimizers;

/// <summary>16-bit training: fp32 master weights without duplicate gradients, the pure 16-bit mode, fp16 loss scaling, clipping.</summary>
public sealed class MixedPrecisionTests
{
    private const int Steps = 10;

    [Fact]
    public void Master_weights_mode_equals_MasterWeights_with_torch_AdamW()
    {
        var expected = Mlp(11, ScalarType.BFloat16);
        var actual = Mlp(11, ScalarType.BFloat16);
        using var master = new MasterWeights(expected.parameters());
        var reference = optim.AdamW(master.Parameters, lr: 0.01, weight_decay: 0.1);
        using var optimizer = new AdamW(actual.parameters(), learningRate: 0.01, weightDecay: 0.1);

        Train(expected, Steps, () => {
            master.CopyGradientsToMaster();
            reference.step();
            master.CopyMasterToModel();
            expected.zero_grad();
        });
        Train(actual, Steps, () => optimizer.Step());

        AssertSameParameters(expected, actual, atol: 0);
        Assert.All(optimizer.Slots, s => Assert.Equal(ScalarType.Float32, s.Master.dtype));
    }

    [Fact]
    public void Folding_frees_each_16_bit_gradient_and_keeps_one_fp32_main_gradient()
    {
        var model = Mlp(12, ScalarType.BFloat16);
        using var optimizer = new AdamW(model.parameters());
        var (input, target) = Batch(0);
        Loss(model, input, target).backward();
        var sixteenBit = model.parameters().Select(p => p.grad!.to_type(ScalarType.Float32, copy: true)).ToArray();

        optimizer.FoldGradients();

        Assert.All(model.parameters(), p => Assert.Null(p.grad));
        for (var i = 0; i < sixteenBit.Length; i++) {
            var main = optimizer.Slots[i].MainGradient!;
            Assert.Equal(ScalarType.Float32, main.dtype);
            Assert.True(main.eq(sixteenBit[i].view(-1)).all().item<bool>());
        }
    }

    [Fact]
    public void Folding_after_each_micro_batch_accumulates_in_fp32()
    {
        var model = Mlp(13, ScalarType.BFloat16);
        using var optimizer = new AdamW(model.parameters());
        var expected = model.parameters().Select(p => zeros(p.numel(), ScalarType.Float32)).ToArray();
        for (var micro = 0; micro < 3; micro++) {
            var (input, target) = Batch(micro);
            Loss(model, input, target).backward();
            var parameters = model.parameters().ToArray();
            for (var i = 0; i < parameters.Length; i++)
                expected[i].add_(parameters[i].grad!.view(-1).to_type(ScalarType.Float32));
            optimizer.FoldGradients();
        }
        for (var i = 0; i < expected.Length; i++)
            Assert.True(optimizer.Slots[i].MainGradient!.eq(expected[i]).all().item<bool>());
    }

    [Fact]
    public void Pure_bf16_mode_equals_torch_AdamW_on_bf16_parameters()
    {
        var expected = Mlp(14, ScalarType.BFloat16);
        var actual = Mlp(14, ScalarType.BFloat16);
        var reference = optim.AdamW(expected.parameters(), lr: 0.01, weight_decay: 0.1);
        using var optimizer = new AdamW(actual.parameters(), learningRate: 0.01, weightDecay: 0.1,
            settings: new OptimizerSettings { Fp32MasterWeights = false });

        Train(expected, Steps, () => { reference.step(); reference.zero_grad(); });
        Train(actual, Steps, () => optimizer.Step());

        AssertSameParameters(expected, actual, atol: 0);
        Assert.All(optimizer.Slots, s => Assert.True(s.MasterIsView));
    }

    [Fact]
    public void Fp16_loss_scaling_equals_LossScaler_with_torch_AdamW()
    {
        var expected = Mlp(15, ScalarType.Float16);
        var actual = Mlp(15, ScalarType.Float16);
        using var master = new MasterWeights(expected.parameters());
        var reference = optim.AdamW(master.Parameters, lr: 0.01, weight_decay: 0.01);
        var referenceScaler = new LossScaler(initialScale: 1024, growthInterval: 3);
        using var optimizer = new AdamW(actual.parameters(), learningRate: 0.01);
        var scaler = new LossScaler(initialScale: 1024, growthInterval: 3);

        Train(expected, Steps, () => {
            master.CopyGradientsToMaster();
            if (referenceScaler.Step(reference, master.Parameters))
                master.CopyMasterToModel();
            expected.zero_grad();
        }, referenceScaler.Scale);
        Train(actual, Steps, () => Assert.True(optimizer.Step(scaler)), scaler.Scale);

        AssertSameParameters(expected, actual, atol: 0);
        Assert.Equal(referenceScaler.CurrentScale, scaler.CurrentScale);
        Assert.True(scaler.CurrentScale > 1024); // it grew every 3 clean steps
    }

    [Fact]
    public void An_overflowing_step_is_skipped_and_the_scale_backs_off()
    {
        var model = Mlp(16, ScalarType.Float16);
        using var optimizer = new AdamW(model.parameters());
        var before = Snapshot(model);
        var scaler = new LossScaler(initialScale: 1e30);

        var stepped = true;
        Train(model, 1, () => stepped = optimizer.Step(scaler), scaler.Scale);

        Assert.False(stepped);
        Assert.Equal(1, scaler.SkippedSteps);
        Assert.Equal(0.5e30, scaler.CurrentScale);
        var after = Snapshot(model);
        for (var i = 0; i < before.Length; i++)
            Assert.True(before[i].eq(after[i]).all().item<bool>());
        Assert.All(model.parameters(), p => Assert.Null(p.grad));
        Assert.All(optimizer.Slots, s => Assert.Equal(0, s.Steps));
    }

    [Fact]
    public void Clipping_by_the_global_norm_equals_clip_grad_norm_then_torch_AdamW()
    {
        var expected = Mlp(17);
        var actual = Mlp(17);
        var reference = optim.AdamW(expected.parameters(), lr: 0.01, weight_decay: 0.01);
        using var optimizer = new AdamW(actual.parameters(), learningRate: 0.01, settings: new OptimizerSettings { MaxGradientNorm = 0.05 });
        var norms = new double[Steps];
        var actualNorms = new double[Steps];
        var step = 0;

        Train(expected, Steps, () => {
            norms[step++] = nn.utils.clip_grad_norm_(expected.parameters(), 0.05);
            reference.step();
            reference.zero_grad();
        });
        step = 0;
        Train(actual, Steps, () => {
            optimizer.Step();
            actualNorms[step++] = optimizer.LastGradientNorm;
        });
        Assert.True(norms.Zip(actualNorms).All(n => Math.Abs(n.First - n.Second) <= 1e-6 * n.First),
            $"torch: {string.Join(", ", norms)}; ModelGen: {string.Join(", ", actualNorms)}");

        Assert.All(norms, n => Assert.True(n > 0.05)); // every step was clipped
        AssertSameParameters(expected, actual, atol: 1e-6);
    }
}
