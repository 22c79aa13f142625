using System;
using System.Linq;
using ModelGen.Optimizers;
using TorchSharp;
using static ModelGen.Runtime.Tests.Optimizers.OptimizerTestModels;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Optimizers;

/// <summary>
/// ZeRO stages 1 and 2 and host offload (optimizer side): two ranks (threads) each train on half of every batch with their
/// partition of the state; the parameters after 5 AdamW steps equal one rank training on the whole batch.
/// </summary>
public sealed class ShardingTests
{
    private const int Steps = 5;

    [Theory]
    [InlineData(1, ScalarType.Float32, false)]
    [InlineData(2, ScalarType.Float32, false)]
    [InlineData(2, ScalarType.BFloat16, false)]
    [InlineData(1, ScalarType.Float32, true)]
    [InlineData(2, ScalarType.BFloat16, true)]
    public void Two_ranks_with_sharded_state_equal_one_rank(int stage, ScalarType dtype, bool offload)
    {
        var expected = Mlp(21, dtype);
        using (var reference = new AdamW(expected.parameters(), learningRate: 0.01, weightDecay: 0.1))
            Train(expected, Steps, () => reference.Step());

        var ranks = new[] { Mlp(21, dtype), Mlp(21, dtype) };
        var owned = new long[2];
        ThreadedGroup.Run(2, group => {
            var model = ranks[group.Rank];
            var settings = new OptimizerSettings { DataParallel = group, ZeroStage = stage, OffloadToHost = offload };
            using var optimizer = new AdamW(model.parameters(), learningRate: 0.01, weightDecay: 0.1, settings: settings);
            owned[group.Rank] = optimizer.OwnedElements;
            for (var s = 0; s < Steps; s++) {
                using var scope = NewDisposeScope();
                var (input, target) = Batch(s);
                // This rank's half of the batch; the mean over it, averaged over the ranks, is the whole batch's mean.
                Loss(model, input.narrow(0, 4 * group.Rank, 4), target.narrow(0, 4 * group.Rank, 4)).backward();
                optimizer.Step();
            }
        });

        var total = expected.parameters().Sum(p => p.numel());
        Assert.Equal(total, owned.Sum());
        Assert.True(owned.Max() <= (total + 1) / 2);
        // Average of the two halves' gradients vs the whole batch's: equal up to fp32 rounding (16-bit weights: one rounding step).
        var atol = dtype == ScalarType.Float32 ? 2e-6 : 1e-2;
        AssertSameParameters(expected, ranks[0], atol);
        AssertSameParameters(ranks[0], ranks[1], atol: 0);
    }

    [Fact]
    public void Offloaded_state_lives_on_the_host_and_steps_like_the_device_one()
    {
        var expected = Mlp(22, ScalarType.BFloat16);
        var actual = Mlp(22, ScalarType.BFloat16);
        using var reference = new AdamW(expected.parameters(), learningRate: 0.01);
        using var optimizer = new AdamW(actual.parameters(), learningRate: 0.01, settings: new OptimizerSettings { OffloadToHost = true });

        Train(expected, Steps, () => reference.Step());
        Train(actual, Steps, () => optimizer.Step());

        AssertSameParameters(expected, actual, atol: 0);
        Assert.All(optimizer.Slots, s => Assert.Equal(DeviceType.CPU, s.Master.device_type));
    }

    [Fact]
    public void Clipping_uses_the_norm_over_every_rank()
    {
        var expected = Mlp(23);
        using (var reference = new AdamW(expected.parameters(), learningRate: 0.01, settings: new OptimizerSettings { MaxGradientNorm = 0.05 }))
            Train(expected, Steps, () => reference.Step());

        var ranks = new[] { Mlp(23), Mlp(23) };
        ThreadedGroup.Run(2, group => {
            var settings = new OptimizerSettings { DataParallel = group, ZeroStage = 2, MaxGradientNorm = 0.05 };
            using var optimizer = new AdamW(ranks[group.Rank].parameters(), learningRate: 0.01, settings: settings);
            for (var s = 0; s < Steps; s++) {
                using var scope = NewDisposeScope();
                var (input, target) = Batch(s);
                Loss(ranks[group.Rank], input.narrow(0, 4 * group.Rank, 4), target.narrow(0, 4 * group.Rank, 4)).backward();
                optimizer.Step();
            }
        });

        AssertSameParameters(expected, ranks[0], atol: 2e-6);
    }

    [Theory]
    [InlineData(new long[] { 10, 3, 7 }, 2)]
    [InlineData(new long[] { 5 }, 3)]
    [InlineData(new long[] { 1, 1, 1, 1, 100 }, 4)]
    [InlineData(new long[] { 2, 2 }, 8)]
    public void The_layout_partitions_every_element_exactly_once(long[] sizes, int ranks)
    {
        var layout = new ShardLayout(sizes, ranks);
        for (var p = 0; p < sizes.Length; p++) {
            var covered = new bool[sizes[p]];
            for (var r = 0; r < ranks; r++) {
                var (offset, length) = layout.Owned(p, r);
                for (var i = offset; i < offset + length; i++) {
                    Assert.False(covered[i]);
                    covered[i] = true;
                }
            }
            Assert.All(covered, Assert.True);
            Assert.Equal(sizes[p], layout.Counts(p).Sum());
        }
        for (var r = 0; r < ranks; r++)
            Assert.True(Enumerable.Range(0, sizes.Length).Sum(p => layout.Owned(p, r).Length) <= layout.PartitionSize);
    }
}
