using System.Linq;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>;

namespace ModelGen.Parallel.Worker
{
    /// <summary>A layer with selective checkpointing around sharded eager attention with dropout (the core keeps <c>s²</c> terms).</summary>
    [Layer(typeof(TpConfig)), Checkpoint(CheckpointMode.Selective)]
    public partial class TpSelectiveBlock
    {
        [LayerNorm(nameof(TpConfig.Hidden))] public partial Module Ln { get; }
        [Attention(nameof(TpConfig.Hidden), nameof(TpConfig.Heads), KvHeads = nameof(TpConfig.KvHeads), Rotary = true, Fused = false, Dropout = 0.2), Shard(ShardStyle.Column)] public partial Module Attn { get; }

        private Tensor Forward(Tensor x) => x + Attn.call(Ln.call(x));
    }

    /// <summary>A tiny model of selectively checkpointed layers.</summary>
    [Model(typeof(TpConfig))]
    public partial class TpSelectiveLm
    {
        [Embedding(nameof(TpConfig.Vocab), nameof(TpConfig.Hidden)), Shard(ShardStyle.Vocab)] public partial Module Embed { get; }
        [Stack(nameof(TpConfig.Layers))] public partial TorchSharp.Modules.ModuleList<TpSelectiveBlock> Layers { get; }
        [Linear(nameof(TpConfig.Hidden), nameof(TpConfig.Vocab), Bias = false), Shard(ShardStyle.Column)] public partial Module Head { get; }

        private Tensor Forward(Tensor tokens)
        {
            var x = Embed.call(tokens);
            foreach (var layer in Layers)
                x = layer.call(x);
            return Head.call(x);
        }
    }

    /// <summary>
    /// Part of the <c>generated</c> case: <c>[Checkpoint(CheckpointMode.Selective)]</c> on a layer with sharded attention sets
    /// <see cref="TensorParallelAttention.CheckpointCore"/>, and the recomputed core (eager, with per-rank dropout streams) gives
    /// the same gradients as the same model keeping its core (so the recompute draws the same masks); in evaluation the logits
    /// equal the whole model's.
    /// </summary>
    internal static class SelectiveCase
    {
        public static void Run(ProcessGroup world, Checks checks)
        {
            using var scope = NewDisposeScope();
            var config = new TpConfig();
            manual_seed(47);
            var reference = new TpSelectiveLm(config);
            var options = new TensorParallelOptions(world, seed: 7);
            var selective = new TpSelectiveLm(config, tensorParallel: options);
            var kept = new TpSelectiveLm(config, tensorParallel: options);
            var attentions = selective.modules().OfType<TensorParallelAttention>().ToList();
            checks.True(attentions.Count == config.Layers && attentions.All(a => a.CheckpointCore),
                $"[Checkpoint(CheckpointMode.Selective)] sets CheckpointCore on each of the {attentions.Count} sharded attention blocks");
            foreach (var attention in kept.modules().OfType<TensorParallelAttention>())
                attention.CheckpointCore = false;
            TensorParallelState.LoadFull(selective, Compare.State(reference));
            TensorParallelState.LoadFull(kept, Compare.State(reference));

            using var generator = new Generator(53);
            var tokens = randint(config.Vocab, new long[] { 2, 8 }, generator: generator);
            var targets = randint(config.Vocab, new long[] { 2, 8 }, generator: generator);
            foreach (var model in new Module[] { selective, kept })
            {
                model.train();
                manual_seed(5);
                BackwardFailures.Backward(nn.functional.cross_entropy(model.call(tokens).reshape(-1, config.Vocab), targets.reshape(-1)));
            }
            foreach (var ((name, a), (_, b)) in selective.named_parameters().Zip(kept.named_parameters()))
                Compare.Close(checks, b.grad!, a.grad!, $"selective checkpointing of sharded attention with dropout: {name}'s gradient equals the kept core's");

            reference.eval();
            selective.eval();
            Compare.Close(checks, reference.call(tokens), selective.call(tokens), "selectively checkpointed sharded model in evaluation: logits equal the whole model's");
        }
    }
}
