using System.Linq;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>;

namespace ModelGen.Parallel.Worker
{
    /// <summary>A tiny model with a generated <c>[Dropout]</c> block on the sequence-sharded stream.</summary>
    [Model(typeof(TpConfig))]
    public partial class TpDropoutLm
    {
        [Embedding(nameof(TpConfig.Vocab), nameof(TpConfig.Hidden)), Shard(ShardStyle.Vocab)] public partial Module Embed { get; }
        [Dropout(0.5)] public partial Module Drop { get; }
        [RmsNorm(nameof(TpConfig.Hidden))] public partial Module Norm { get; }
        [Linear(nameof(TpConfig.Hidden), nameof(TpConfig.Vocab), Bias = false), Shard(ShardStyle.Column)] public partial Module Head { get; }

        private Tensor Forward(Tensor tokens) => Head.call(Norm.call(Drop.call(Embed.call(tokens))));
    }

    /// <summary>
    /// Part of the <c>generated</c> case: with sequence parallelism a generated <c>[Dropout]</c> block is a
    /// <see cref="ParallelDropout"/> whose ranks draw different masks on their shards, reproducibly from the seed (nn.Dropout on
    /// the default generator would draw rank 0's mask on every rank); without it, nn.Dropout. In evaluation the model equals the
    /// whole model, and a training step runs backward without failures.
    /// </summary>
    internal static class DropoutCase
    {
        public static void Run(ProcessGroup world, Checks checks)
        {
            using var scope = NewDisposeScope();
            var config = new TpConfig();
            var plain = new TpDropoutLm(config, tensorParallel: new TensorParallelOptions(world, seed: 7));
            checks.True(plain.Drop is TorchSharp.Modules.Dropout, $"generated [Dropout] without sequence parallelism is nn.Dropout (got {plain.Drop.GetType().Name})");

            manual_seed(41);
            var reference = new TpDropoutLm(config);
            var model = new TpDropoutLm(config, tensorParallel: new TensorParallelOptions(world, sequenceParallel: true, seed: 7));
            checks.True(world.Size == 1 ? model.Drop is TorchSharp.Modules.Dropout : model.Drop is ParallelDropout,
                $"generated [Dropout] with sequence parallelism at degree {world.Size} is {(world.Size == 1 ? "nn.Dropout" : "ParallelDropout")} (got {model.Drop.GetType().Name})");
            TensorParallelState.LoadFull(model, Compare.State(reference));

            model.train();
            var shard = ones(2, 8, config.Hidden);
            Tensor Draw() { manual_seed(5); return model.Drop.call(shard); }
            var mask = Draw();
            checks.Equal(mask, Draw(), "generated sequence-parallel dropout is reproducible from the seed");
            checks.True(mask.eq(0).any().item<bool>() && mask.ne(0).any().item<bool>(), "generated sequence-parallel dropout drops some elements and keeps others");
            var chunks = world.AllGather(mask.contiguous()).chunk(world.Size, 0);
            for (var r = 1; r < world.Size; r++)
                checks.True(!chunks[0].eq(chunks[r]).all().item<bool>(), $"generated sequence-parallel dropout: rank {r} draws a different mask from rank 0 on its shard");

            using var generator = new Generator(43);
            var tokens = randint(config.Vocab, new long[] { 2, 8 }, generator: generator);
            var targets = randint(config.Vocab, new long[] { 2, 8 }, generator: generator);
            var logits = model.call(tokens);
            BackwardFailures.Backward(nn.functional.cross_entropy(logits.reshape(-1, config.Vocab), targets.reshape(-1)));
            checks.True(model.parameters().All(p => p.grad is not null), "a training step through generated sequence-parallel dropout gives every parameter a gradient");

            model.eval();
            reference.eval();
            Compare.Close(checks, reference.call(tokens), model.call(tokens), "generated model with dropout in evaluation: logits equal the whole model's");
        }
    }
}
