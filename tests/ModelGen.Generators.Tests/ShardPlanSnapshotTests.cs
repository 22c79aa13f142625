using System.Linq;

namespace ModelGen.Generators.Tests;

/// <summary>
/// The training factory of a [ParallelPlan] model whose head is vocab-parallel (docs/tensor-parallel.md): the loss is optional,
/// and without one the model is built with <c>VocabParallelLogits</c> and trained on the vocab-parallel cross-entropy. A column
/// Linear of the model class that a row Linear consumes is no head, so that model's factory still requires a loss.
/// </summary>
public class ShardPlanSnapshotTests
{
    private const string Source = """
        [Layer(typeof(Cfg))]
        public partial class HeadBlock
        {
            [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads), KvHeads = nameof(Cfg.KvHeads)), Shard(ShardStyle.Column)] public partial nn.Module<Tensor, Tensor> Attn { get; }
            private Tensor Forward(Tensor x) => x + Attn.call(x);
        }

        [Model(typeof(Cfg))]
        [ParallelPlan(TensorParallel = 2, DataParallel = 2)]
        public partial class HeadModel
        {
            [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden)), Shard(ShardStyle.Vocab)] public partial nn.Module<Tensor, Tensor> Embed { get; }
            [Stack(nameof(Cfg.Layers))] public partial ModuleList<HeadBlock> Blocks { get; }
            [Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab), Bias = false), Shard(ShardStyle.Column)] public partial nn.Module<Tensor, Tensor> Head { get; }
            private Tensor Forward(Tensor tokens)
            {
                var x = Embed.call(tokens);
                foreach (var block in Blocks)
                    x = block.call(x);
                return Head.call(x);
            }
        }

        [Model(typeof(Cfg))]
        [ParallelPlan(TensorParallel = 2)]
        public partial class PairModel
        {
            [Linear(nameof(Cfg.Hidden), nameof(Cfg.Ffn)), Shard(ShardStyle.Column)] public partial nn.Module<Tensor, Tensor> Up { get; }
            [Linear(nameof(Cfg.Ffn), nameof(Cfg.Hidden)), Shard(ShardStyle.Row)] public partial nn.Module<Tensor, Tensor> Down { get; }
            private Tensor Forward(Tensor x) => Down.call(nn.functional.gelu(Up.call(x)));
        }
        """;

    [Fact]
    public void A_vocab_parallel_head_makes_the_loss_optional_and_vocab_parallel()
    {
        var (result, output) = GeneratorHarness.Run(Cases.Usings + Source);
        var sources = result.Results.Single().GeneratedSources;
        string Plan(string name) => sources.Single(s => s.HintName.StartsWith("Demo." + name, System.StringComparison.Ordinal)
            && s.HintName.Contains("60Plan", System.StringComparison.Ordinal)).SourceText.ToString();
        var head = Plan("HeadModel");
        Snapshot.Match("Sharded.HeadModel.Plan", head);
        Assert.Contains("TorchSharp.torch.Tensor>? loss = null", head, System.StringComparison.Ordinal);
        Assert.Contains("VocabParallelTrainingLoss", head, System.StringComparison.Ordinal);
        var pair = Plan("PairModel");
        Assert.DoesNotContain("loss = null", pair, System.StringComparison.Ordinal);
        Assert.DoesNotContain("VocabParallelTrainingLoss", pair, System.StringComparison.Ordinal);
        var problems = GeneratorHarness.Problems(output);
        if (problems.Count > 0)
            Assert.Fail(string.Join("\n", problems));
    }
}
