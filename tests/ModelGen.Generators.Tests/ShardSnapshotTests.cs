using System.Linq;

namespace ModelGen.Generators.Tests;

/// <summary>
/// Tensor-parallel emission (docs/tensor-parallel.md, "What the generator emits"): a layer with [Shard] blocks, or one that uses
/// such a layer, takes TensorParallelOptions and its state_dict path; each sharded block becomes its ModelGen.Parallel module when
/// the options are given and stays the plain module when they are not. Approved as snapshots and compiled without warnings.
/// </summary>
public class ShardSnapshotTests
{
    private const string Source = """
        [Layer(typeof(Cfg)), Checkpoint(CheckpointMode.Selective)]
        public partial class TpBlock
        {
            [RmsNorm(nameof(Cfg.Hidden))] public partial nn.Module<Tensor, Tensor> AttnNorm { get; }
            [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads), KvHeads = nameof(Cfg.KvHeads), Rotary = true, Fused = false), Shard(ShardStyle.Column)] public partial nn.Module<Tensor, Tensor> Attn { get; }
            [LayerNorm(nameof(Cfg.Hidden))] public partial nn.Module<Tensor, Tensor> MlpNorm { get; }
            [Linear(nameof(Cfg.Hidden), nameof(Cfg.Ffn), Bias = false), Shard(ShardStyle.Column)] public partial nn.Module<Tensor, Tensor> Gate { get; }
            [Linear(nameof(Cfg.Hidden), nameof(Cfg.Ffn), Bias = false), Shard(ShardStyle.Column), Quantize(QuantKind.Int8)] public partial nn.Module<Tensor, Tensor> Up { get; }
            [Linear(nameof(Cfg.Ffn), nameof(Cfg.Hidden)), Shard(ShardStyle.Row), Quantize(QuantKind.Int4, GroupSize = 64)] public partial nn.Module<Tensor, Tensor> Down { get; }
            [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden)), Shard(ShardStyle.Row)] public partial nn.Module<Tensor, Tensor> Proj { get; }
            [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn), Activation = FeedForwardActivation.SwiGlu), Shard(ShardStyle.Column)] public partial nn.Module<Tensor, Tensor> Mlp { get; }
            [LayerNorm(nameof(Cfg.Hidden), Bias = false)] public partial LayerNorm Plain { get; }

            private Tensor Forward(Tensor x)
            {
                x = x + Attn.call(AttnNorm.call(x));
                var h = MlpNorm.call(x);
                return Plain.call(x + Down.call(nn.functional.silu(Gate.call(h)) * Up.call(h)) + Mlp.call(Proj.call(h)));
            }
        }

        [Layer(typeof(Cfg))]
        public partial class Replicated
        {
            [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] public partial Linear Mix { get; }
            private Tensor Forward(Tensor x) => Mix.call(x);
        }

        [Model(typeof(Cfg))]
        public partial class TpModel
        {
            [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden)), Shard(ShardStyle.Vocab)] public partial nn.Module<Tensor, Tensor> Embed { get; }
            [Stack(nameof(Cfg.Layers))] public partial ModuleList<TpBlock> Blocks { get; }
            [Sublayer] public partial TpBlock Last { get; }
            [Sublayer] public partial Replicated Mixer { get; }
            [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm Norm { get; }
            [Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab), Bias = false), TiedTo(nameof(Embed))] public partial nn.Module<Tensor, Tensor> Head { get; }

            private Tensor Forward(Tensor tokens)
            {
                var x = Embed.call(tokens);
                foreach (var block in Blocks)
                    x = block.call(x);
                return Head.call(Norm.call(Mixer.call(Last.call(x))));
            }
        }
        """;

    [Fact]
    public void Sharded_layers_match_their_snapshots_and_compile()
    {
        var (result, output) = GeneratorHarness.Run(Cases.Usings + Source);
        var sources = result.Results.Single().GeneratedSources;
        foreach (var name in new[] { "TpBlock", "TpModel", "Replicated" })
        {
            var module = sources.Single(s => s.HintName.StartsWith("Demo." + name + ".", System.StringComparison.Ordinal)
                && !s.HintName.Contains(".Inference.", System.StringComparison.Ordinal));
            Snapshot.Match("Sharded." + name, module.SourceText.ToString());
        }
        var problems = GeneratorHarness.Problems(output);
        if (problems.Count > 0)
            Assert.Fail(string.Join("\n", problems));
    }

    [Fact]
    public void Only_layers_with_shards_inside_take_the_options_and_only_they_receive_them()
    {
        var (result, _) = GeneratorHarness.Run(Cases.Usings + Source);
        var sources = result.Results.Single().GeneratedSources;
        string Text(string name) => sources.Single(s => s.HintName.StartsWith("Demo." + name + ".", System.StringComparison.Ordinal)
            && !s.HintName.Contains(".Inference.", System.StringComparison.Ordinal)).SourceText.ToString();
        Assert.DoesNotContain("tensorParallel", Text("Replicated"), System.StringComparison.Ordinal);
        var model = Text("TpModel");
        Assert.Contains("new global::Demo.TpBlock(config, this.StoragePrecision, device, tensorParallel, statePath + \"last.\")", model, System.StringComparison.Ordinal);
        Assert.Contains("new global::Demo.Replicated(config, this.StoragePrecision, device)", model, System.StringComparison.Ordinal);
        // The tied head over a vocab-parallel embedding is built after it, from it.
        Assert.True(model.IndexOf("VocabParallelHead", System.StringComparison.Ordinal) > model.IndexOf("VocabParallelEmbedding(", System.StringComparison.Ordinal));
        // Gate feeds Down (Ffn → Hidden): neither gathers nor splits; Proj (Hidden → Hidden, no column partner) splits its own input.
        var block = Text("TpBlock");
        Assert.Contains("gatherOutput: false", block, System.StringComparison.Ordinal);
        Assert.Contains("inputIsParallel: false", block, System.StringComparison.Ordinal);
    }
}
