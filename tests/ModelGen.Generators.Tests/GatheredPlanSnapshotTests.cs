using System.Linq;

namespace ModelGen.Generators.Tests;

/// <summary>
/// The training factory of a plan with <c>GatheredLogits = true</c> (docs/tensor-parallel.md, "The loss of a vocab-parallel head"):
/// the head gathers all V logits on every rank (the model is built with the plain options), the loss is required, and nothing is
/// refused; the same model without the opt-in refuses a loss of its own at start-up (ShardPlanSnapshotTests).
/// </summary>
public class GatheredPlanSnapshotTests
{
    private const string Source = """
        [Layer(typeof(Cfg))]
        public partial class GatheredBlock
        {
            [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads), KvHeads = nameof(Cfg.KvHeads)), Shard(ShardStyle.Column)] public partial nn.Module<Tensor, Tensor> Attn { get; }
            private Tensor Forward(Tensor x) => x + Attn.call(x);
        }

        [Model(typeof(Cfg))]
        [ParallelPlan(TensorParallel = 2, DataParallel = 2, GatheredLogits = true)]
        public partial class GatheredModel
        {
            [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden)), Shard(ShardStyle.Vocab)] public partial nn.Module<Tensor, Tensor> Embed { get; }
            [Stack(nameof(Cfg.Layers))] public partial ModuleList<GatheredBlock> Blocks { get; }
            [Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab), Bias = false), Shard(ShardStyle.Column)] public partial nn.Module<Tensor, Tensor> Head { get; }
            private Tensor Forward(Tensor tokens)
            {
                var x = Embed.call(tokens);
                foreach (var block in Blocks)
                    x = block.call(x);
                return Head.call(x);
            }
        }
        """;

    [Fact]
    public void GatheredLogits_requires_the_loss_and_builds_the_gathered_head()
    {
        var (result, output) = GeneratorHarness.Run(Cases.Usings + Source);
        var plan = result.Results.Single().GeneratedSources.Single(s => s.HintName.StartsWith("Demo.GatheredModel", System.StringComparison.Ordinal)
            && s.HintName.Contains("60Plan", System.StringComparison.Ordinal)).SourceText.ToString();
        Snapshot.Match("Sharded.GatheredModel.Plan", plan);
        Assert.Contains("TorchSharp.torch.Tensor> loss, int microBatches", plan, System.StringComparison.Ordinal);
        Assert.DoesNotContain("VocabParallelTrainingLoss", plan, System.StringComparison.Ordinal);
        Assert.Contains("tensorParallel: new global::ModelGen.Parallel.TensorParallelOptions(grid.TensorParallel, TrainingPlan.SequenceParallel, seed)", plan, System.StringComparison.Ordinal);
        var problems = GeneratorHarness.Problems(output);
        if (problems.Count > 0)
            Assert.Fail(string.Join("\n", problems));
    }
}
