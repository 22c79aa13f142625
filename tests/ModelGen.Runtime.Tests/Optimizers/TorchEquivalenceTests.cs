using System;
using System.Linq;
using ModelGen.Optimizers;
using TorchSharp;
using static ModelGen.Runtime.Tests.Optimizers.OptimizerTestModels;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Optimizers;

/// <summary>ModelGen's optimizers against TorchSharp's torch.optim on fp32 models over 10 steps: same arithmetic, same order.</summary>
public sealed class TorchEquivalenceTests
{
    private const int Steps = 10;

    [Fact]
    public void AdamW_equals_torch_AdamW_bit_for_bit()
    {
        var expected = Mlp(1);
        var actual = Mlp(1);
        var reference = optim.AdamW(expected.parameters(), lr: 0.01, weight_decay: 0.1);
        using var optimizer = new AdamW(actual.parameters(), learningRate: 0.01, weightDecay: 0.1);

        Train(expected, Steps, () => { reference.step(); reference.zero_grad(); });
        Train(actual, Steps, () => optimizer.Step());

        AssertSameParameters(expected, actual, atol: 0);
    }

    [Fact]
    public void Adam_with_L2_weight_decay_equals_torch_Adam()
    {
        var expected = Mlp(2);
        var actual = Mlp(2);
        var reference = optim.Adam(expected.parameters(), lr: 0.02, beta1: 0.8, beta2: 0.99, eps: 1e-6, weight_decay: 0.05);
        using var optimizer = new Adam(actual.parameters(), learningRate: 0.02, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.05);

        Train(expected, Steps, () => { reference.step(); reference.zero_grad(); });
        Train(actual, Steps, () => optimizer.Step());

        AssertSameParameters(expected, actual, atol: 0);
    }

    [Theory]
    [InlineData(0.0, 0.0, false)]
    [InlineData(0.9, 0.0, false)]
    [InlineData(0.9, 0.1, false)]
    [InlineData(0.9, 0.0, true)]
    public void Sgd_equals_torch_SGD(double momentum, double dampening, bool nesterov)
    {
        var expected = Mlp(3);
        var actual = Mlp(3);
        var reference = optim.SGD(expected.parameters(), 0.05, momentum: momentum, dampening: dampening, weight_decay: 0.01, nesterov: nesterov);
        using var optimizer = new Sgd(actual.parameters(), 0.05, momentum, dampening, weightDecay: 0.01, nesterov: nesterov);

        Train(expected, Steps, () => { reference.step(); reference.zero_grad(); });
        Train(actual, Steps, () => optimizer.Step());

        AssertSameParameters(expected, actual, atol: 0);
    }

    [Fact]
    public void Gradients_are_freed_after_the_step()
    {
        var model = Mlp(4);
        using var optimizer = new AdamW(model.parameters());
        Train(model, 1, () => optimizer.Step());
        Assert.All(model.parameters(), p => Assert.Null(p.grad));
    }

    [Fact]
    public void Frozen_and_repeated_parameters_are_left_out_or_stepped_once()
    {
        var model = Mlp(5);
        var parameters = Trainable(model);
        parameters[0].requires_grad = false;
        using var optimizer = new AdamW([.. parameters, parameters[1]]);
        Assert.Equal(parameters.Count - 1, optimizer.Parameters.Count);
        Assert.Equal(parameters.Skip(1).Sum(p => p.numel()), optimizer.OwnedElements);
    }

    [Fact]
    public void Invalid_settings_are_refused_with_a_clear_message()
    {
        var model = Mlp(6);
        var stage3 = Assert.Throws<ArgumentException>(() => new AdamW(model.parameters(), settings: new OptimizerSettings { ZeroStage = 3 }));
        Assert.Contains("stage 3", stage3.Message);
        Assert.Throws<ArgumentException>(() => new AdamW(model.parameters(), settings: new OptimizerSettings { MaxGradientNorm = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(model.parameters(), beta1: 1.0));
        Assert.Throws<ArgumentException>(() => new Sgd(model.parameters(), 0.1, momentum: 0, nesterov: true));
    }
}
