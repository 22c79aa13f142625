using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelGen.Optimizers;
using ModelGen.Runtime.Tests.Optimizers;
using ModelGen.Training;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using AdamW = ModelGen.Optimizers.AdamW;
using static ModelGen.Runtime.Tests.Optimizers.OptimizerTestModels;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Training;

/// <summary>
/// Sharded checkpoints with the optimizer's state (AdamW moments, step counts, fp32 master copies): trained 3 steps on 2 ranks,
/// saved, loaded on 1 and on 4 ranks (thread ranks), trained 2 more steps, the parameters equal 5 uninterrupted steps within fp32
/// rounding; resharding keeps every entry bit for bit; a checkpoint without optimizer state is refused when resuming.
/// </summary>
public sealed class ResumeCheckpointTests : IDisposable
{
    private const int Rows = 8;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "modelgen-resume-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        foreach (var directory in new[] { _directory, _directory + "-again" })
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
    }

    private static AdamW Adam(IEnumerable<Parameter> parameters, OptimizerSettings settings) =>
        new(parameters, learningRate: 0.02, weightDecay: 0.1, settings: settings);

    /// <summary>Steps [<paramref name="first"/>, <paramref name="last"/>) on <paramref name="ranks"/> thread ranks at <paramref name="stage"/>; returns rank 0's whole parameters.</summary>
    private static Tensor[] Train(int ranks, int stage, int first, int last, string? load = null, string? save = null, ScalarType dtype = ScalarType.Float32)
    {
        var result = Array.Empty<Tensor>();
        if (ranks == 1 && stage is 1 or 2)
            stage = 0; // one rank has nothing to partition the optimizer over
        // A resumed run starts from other weights: the checkpoint must replace every one of them.
        var models = Enumerable.Range(0, ranks).Select(_ => new StackModel(load is null ? 51 : 977, dtype: dtype)).ToArray();
        ThreadedGroup.Run(ranks, group => {
            var model = models[group.Rank];
            var state = load is null ? null : ShardedCheckpoint.LoadStateDict(load);
            using var zero = stage == 3 ? new ZeroStage3(model, model.Blocks, group) : null;
            if (zero is not null)
                model.RunLayer = zero.Forward;
            if (state is not null) {
                if (zero is not null)
                    zero.LoadParameters(state);
                else
                    ShardedCheckpoint.Load(load!, model);
            }
            var settings = new OptimizerSettings { DataParallel = group, ZeroStage = stage };
            using var optimizer = Adam(zero?.Partitions ?? model.parameters(), settings);
            if (state is not null) {
                if (zero is not null)
                    zero.LoadOptimizerState(optimizer, state);
                else
                    ShardedCheckpoint.LoadOptimizerState(optimizer, model, state);
            }
            var rows = Rows / ranks;
            for (var s = first; s < last; s++) {
                using var scope = NewDisposeScope();
                var (input, target) = Batch(s, Rows);
                zero?.BeginForward();
                var loss = Loss(model, input.narrow(0, rows * group.Rank, rows), target.narrow(0, rows * group.Rank, rows));
                if (zero is null) {
                    loss.backward();
                    if (stage == 0 && ranks > 1)
                        foreach (var p in model.parameters())
                            group.AllReduce(p.grad!, Distributed.ReduceOp.Average);
                } else {
                    zero.Backward(loss);
                }
                optimizer.Step();
            }
            if (save is not null)
                ShardedCheckpoint.Save(save, zero?.ShardedState(optimizer) ?? ShardedCheckpoint.ReplicatedState(model, group, optimizer), group);
            zero?.GatherAll();
            if (group.Rank == 0)
                result = Snapshot(model);
            zero?.ReleaseAll();
            foreach (var tensor in state?.Values ?? Enumerable.Empty<Tensor>())
                tensor.Dispose();
        });
        return result;
    }

    private static void AssertClose(Tensor[] expected, Tensor[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(actual[i].allclose(expected[i], rtol: 1e-5, atol: 2e-6),
                $"{what}: parameter {i} differs by {(actual[i] - expected[i]).abs().max().item<double>()}");
    }

    [Theory]
    [InlineData(3, 3)]    // ZeRO-3 on 2 ranks, resumed with ZeRO-3
    [InlineData(2, 1)]    // ZeRO-2 on 2 ranks, resumed with ZeRO-1
    [InlineData(3, 2)]    // ZeRO-3 on 2 ranks, resumed with ZeRO-2
    public void Three_steps_on_2_ranks_then_2_more_on_1_and_on_4_equal_5_uninterrupted_steps(int savedStage, int resumedStage)
    {
        var uninterrupted = Train(1, 0, 0, 5);
        Train(2, savedStage, 0, 3, save: _directory);
        AssertClose(uninterrupted, Train(1, resumedStage, 3, 5, load: _directory), "resumed on 1 rank");
        AssertClose(uninterrupted, Train(4, resumedStage, 3, 5, load: _directory), "resumed on 4 ranks");

        // Without the optimizer's state (fresh moments and step counts) the trajectory is another one: the test can tell.
        var fresh = new StackModel(977);
        ShardedCheckpoint.Load(_directory, fresh);
        using (var optimizer = Adam(fresh.parameters(), new OptimizerSettings()))
            for (var s = 3; s < 5; s++) {
                using var scope = NewDisposeScope();
                var (input, target) = Batch(s, Rows);
                Loss(fresh, input, target).backward();
                optimizer.Step();
            }
        var restarted = Snapshot(fresh);
        Assert.Contains(Enumerable.Range(0, restarted.Length), i => !restarted[i].allclose(uninterrupted[i], rtol: 1e-5, atol: 2e-6));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Resharding_keeps_every_entry_bit_for_bit_with_16_bit_weights_and_fp32_masters(int ranks)
    {
        Train(2, 3, 0, 3, save: _directory, dtype: ScalarType.BFloat16);
        Train(ranks, 3, 3, 3, load: _directory, save: _directory + "-again", dtype: ScalarType.BFloat16);
        var saved = ShardedCheckpoint.LoadStateDict(_directory);
        var again = ShardedCheckpoint.LoadStateDict(_directory + "-again");
        Assert.Equal(saved.Keys.OrderBy(k => k), again.Keys.OrderBy(k => k));
        Assert.Contains(saved.Keys, k => k.StartsWith("optimizer:master:", StringComparison.Ordinal));
        Assert.Contains(saved.Keys, k => k == "optimizer:exp_avg_sq:blocks.2.fc.weight");
        Assert.Equal(3, saved["optimizer:step:head.bias"].item<long>());
        foreach (var (key, value) in saved)
            Assert.True(value.dtype == again[key].dtype && value.eq(again[key]).all().item<bool>(), key);
    }

    [Fact]
    public void Resuming_from_a_checkpoint_without_optimizer_state_is_refused_with_the_entry()
    {
        var model = new StackModel(61);
        ShardedCheckpoint.Save(_directory, ShardedCheckpoint.ReplicatedState(model, Distributed.SingleProcessGroup.Instance), Distributed.SingleProcessGroup.Instance);
        using var optimizer = Adam(model.parameters(), new OptimizerSettings());
        var error = Assert.Throws<InvalidDataException>(() =>
            ShardedCheckpoint.LoadOptimizerState(optimizer, model, ShardedCheckpoint.LoadStateDict(_directory)));
        Assert.Contains("optimizer:exp_avg:", error.Message);

        // Cut short: the index goes last, so a save interrupted before it is refused as before.
        ShardedCheckpoint.Save(_directory, ShardedCheckpoint.ReplicatedState(model, Distributed.SingleProcessGroup.Instance, optimizer), Distributed.SingleProcessGroup.Instance);
        File.Delete(Path.Combine(_directory, ShardedCheckpoint.IndexFileName));
        Assert.Contains("incomplete", Assert.Throws<InvalidDataException>(() => ShardedCheckpoint.LoadStateDict(_directory)).Message);
    }
}
