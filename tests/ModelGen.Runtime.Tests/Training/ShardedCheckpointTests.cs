using System;
using System.IO;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Optimizers;
using ModelGen.Runtime.Tests.Optimizers;
using ModelGen.Training;
using TorchSharp;
using static ModelGen.Runtime.Tests.Optimizers.OptimizerTestModels;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Training;

/// <summary>Sharded checkpoints: written by 4 ranks, loaded on 2 and on 1 with identical outputs; incomplete ones refused.</summary>
public sealed class ShardedCheckpointTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "modelgen-ckpt-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    private static readonly Tensor Probe = Nn.TensorAssert.Randn(77, 5, 6);

    /// <summary>Trains a ZeRO-3 model for 2 steps on <paramref name="ranks"/> thread ranks, saves it, returns rank 0's output on the probe.</summary>
    private Tensor TrainAndSave(int ranks)
    {
        var outputs = new Tensor[ranks];
        var models = Enumerable.Range(0, ranks).Select(_ => new StackModel(41)).ToArray();
        ThreadedGroup.Run(ranks, group => {
            var model = models[group.Rank];
            using var zero = new ZeroStage3(model, model.Blocks, group);
            model.RunLayer = zero.Forward;
            using var optimizer = new AdamW(zero.Partitions, learningRate: 0.05, settings: new OptimizerSettings { DataParallel = group, ZeroStage = 3 });
            for (var s = 0; s < 2; s++) {
                using var scope = NewDisposeScope();
                var (input, target) = Batch(s);
                zero.BeginForward();
                zero.Backward(Loss(model, input.narrow(0, 2 * group.Rank, 2), target.narrow(0, 2 * group.Rank, 2)));
                optimizer.Step();
            }
            ShardedCheckpoint.Save(_directory, zero.ShardedState(), group);
            zero.GatherAll();
            model.RunLayer = null;
            using (no_grad())
                outputs[group.Rank] = model.call(Probe).DetachFromDisposeScope();
        });
        return outputs[0];
    }

    [Fact]
    public void Saved_on_4_ranks_loads_on_2_and_on_1_with_identical_outputs()
    {
        var expected = TrainAndSave(4);
        Assert.Equal(5, Directory.GetFiles(_directory).Length); // four rank files and the index

        // One rank: the merged state_dict into the plain model.
        var single = new StackModel(99);
        ShardedCheckpoint.Load(_directory, single);
        using (no_grad())
            Assert.True(expected.eq(single.call(Probe)).all().item<bool>());

        // Two ranks: each loads the merged checkpoint and re-partitions it over its own world; the layers run gathered.
        var outputs = new Tensor[2];
        var models = new[] { new StackModel(98), new StackModel(97) };
        ThreadedGroup.Run(2, group => {
            var model = models[group.Rank];
            ShardedCheckpoint.Load(_directory, model);
            using var zero = new ZeroStage3(model, model.Blocks, group);
            model.RunLayer = zero.Forward;
            using var _ = no_grad();
            zero.BeginForward();
            outputs[group.Rank] = model.call(Probe).DetachFromDisposeScope();
            zero.ReleaseAll();
        });
        Assert.True(expected.eq(outputs[0]).all().item<bool>());
        Assert.True(expected.eq(outputs[1]).all().item<bool>());
    }

    [Fact]
    public void A_replicated_model_saved_on_2_ranks_merges_into_the_same_state_dict()
    {
        var model = new StackModel(42);
        ThreadedGroup.Run(2, group => ShardedCheckpoint.Save(_directory, ShardedCheckpoint.ReplicatedState(model, group), group));
        var state = ShardedCheckpoint.LoadStateDict(_directory);
        var original = model.state_dict();
        Assert.Equal(original.Keys.OrderBy(k => k), state.Keys.OrderBy(k => k));
        foreach (var (key, value) in original)
            Assert.True(value.eq(state[key]).all().item<bool>(), key);
    }

    [Fact]
    public void A_checkpoint_without_its_index_is_refused()
    {
        var model = new StackModel(43);
        ShardedCheckpoint.Save(_directory, ShardedCheckpoint.ReplicatedState(model, SingleProcessGroup.Instance), SingleProcessGroup.Instance);
        File.Delete(Path.Combine(_directory, ShardedCheckpoint.IndexFileName));

        var error = Assert.Throws<InvalidDataException>(() => ShardedCheckpoint.LoadStateDict(_directory));
        Assert.Contains("incomplete", error.Message);
        Assert.Contains("index.json", error.Message);
    }

    [Fact]
    public void A_rank_file_cut_short_or_missing_is_refused()
    {
        var model = new StackModel(44);
        ThreadedGroup.Run(2, group => ShardedCheckpoint.Save(_directory, ShardedCheckpoint.ReplicatedState(model, group), group));
        var file = Path.Combine(_directory, "rank-00001-of-00002.bin");
        using (var stream = new FileStream(file, FileMode.Open))
            stream.SetLength(stream.Length - 10);
        Assert.Contains("cut short", Assert.Throws<InvalidDataException>(() => ShardedCheckpoint.LoadStateDict(_directory)).Message);

        File.Delete(file);
        Assert.Contains("lacks rank-00001-of-00002.bin", Assert.Throws<InvalidDataException>(() => ShardedCheckpoint.LoadStateDict(_directory)).Message);
    }

    [Fact]
    public void A_checkpoint_of_another_model_is_refused_with_the_keys()
    {
        var model = new StackModel(45);
        ShardedCheckpoint.Save(_directory, ShardedCheckpoint.ReplicatedState(model, SingleProcessGroup.Instance), SingleProcessGroup.Instance);
        var error = Assert.Throws<InvalidDataException>(() => ShardedCheckpoint.Load(_directory, new StackModel(46, blockCount: 2)));
        Assert.Contains("unexpected blocks.2", error.Message);
    }
}
