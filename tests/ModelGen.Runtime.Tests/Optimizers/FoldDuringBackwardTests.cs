using System;
using System.Linq;
using ModelGen.Optimizers;
using TorchSharp;
using static ModelGen.Runtime.Tests.Optimizers.OptimizerTestModels;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Optimizers;

/// <summary>Folding each layer's gradients inside backward (forward pre-hook markers): same results, 16-bit gradients gone early.</summary>
public sealed class FoldDuringBackwardTests
{
    [Fact]
    public void Each_layers_16_bit_gradients_are_folded_as_backward_passes_it()
    {
        var model = Mlp(51, ScalarType.BFloat16);
        using var optimizer = new AdamW(model.parameters());
        using var hooks = optimizer.FoldDuringBackward(model);
        var (input, target) = Batch(0);
        Loss(model, input, target).backward();

        var parameters = model.parameters().ToArray();
        // The first Linear is fed with data (its input needs no gradient), so no marker runs for it: Step folds it.
        Assert.NotNull(parameters[0].grad);
        Assert.NotNull(parameters[1].grad);
        for (var i = 2; i < parameters.Length; i++) {
            Assert.Null(parameters[i].grad);
            Assert.Equal(ScalarType.Float32, optimizer.Slots[i].MainGradient!.dtype);
        }
        optimizer.Step();
        Assert.All(model.parameters(), p => Assert.Null(p.grad));
    }

    [Fact]
    public void Results_equal_folding_after_backward_bit_for_bit()
    {
        var expected = Mlp(52, ScalarType.BFloat16);
        var actual = Mlp(52, ScalarType.BFloat16);
        using var reference = new AdamW(expected.parameters(), learningRate: 0.01);
        using var optimizer = new AdamW(actual.parameters(), learningRate: 0.01);
        using var hooks = optimizer.FoldDuringBackward(actual);

        Train(expected, 10, () => reference.Step());
        Train(actual, 10, () => optimizer.Step());

        AssertSameParameters(expected, actual, atol: 0);
    }

    [Theory]
    [InlineData(2, false)]
    [InlineData(2, true)]
    [InlineData(1, false)]
    public void Two_ranks_reducing_inside_backward_equal_one_rank(int stage, bool offload)
    {
        var expected = Mlp(53);
        using (var reference = new AdamW(expected.parameters(), learningRate: 0.01))
            Train(expected, 5, () => reference.Step());

        var ranks = new[] { Mlp(53), Mlp(53) };
        ThreadedGroup.Run(2, group => {
            var model = ranks[group.Rank];
            var settings = new OptimizerSettings { DataParallel = group, ZeroStage = stage, OffloadToHost = offload };
            using var optimizer = new AdamW(model.parameters(), learningRate: 0.01, settings: settings);
            using var hooks = optimizer.FoldDuringBackward(model);
            for (var s = 0; s < 5; s++) {
                using var scope = NewDisposeScope();
                var (input, target) = Batch(s);
                Loss(model, input.narrow(0, 4 * group.Rank, 4), target.narrow(0, 4 * group.Rank, 4)).backward();
                optimizer.Step();
            }
        });

        AssertSameParameters(expected, ranks[0], atol: 2e-6);
        AssertSameParameters(ranks[0], ranks[1], atol: 0);
    }

    [Fact]
    public void Removing_the_hooks_restores_folding_after_backward()
    {
        var model = Mlp(54, ScalarType.BFloat16);
        using var optimizer = new AdamW(model.parameters());
        optimizer.FoldDuringBackward(model).Dispose();
        var (input, target) = Batch(0);
        Loss(model, input, target).backward();
        Assert.All(model.parameters(), p => Assert.NotNull(p.grad));
    }
}
