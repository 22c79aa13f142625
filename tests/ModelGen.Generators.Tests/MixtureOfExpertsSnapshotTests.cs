using System.Linq;

namespace ModelGen.Generators.Tests;

/// <summary>
/// [MixtureOfExperts] emission (docs/moe.md): config-bound experts and top-k, a GELU variant with a capacity factor and Mixtral's
/// state name; approved as a snapshot and compiled without warnings.
/// </summary>
public class MixtureOfExpertsSnapshotTests
{
    private const string Source = """
        public sealed record MoeCfg
        {
            public int Vocab { get; init; } = 256;
            public int Hidden { get; init; } = 64;
            public int Heads { get; init; } = 4;
            public int Ffn { get; init; } = 128;
            public int Experts { get; init; } = 8;
            public int TopK { get; init; } = 2;
            public int Layers { get; init; } = 2;
        }

        [Layer(typeof(MoeCfg))]
        public partial class MoeBlock
        {
            [RmsNorm(nameof(MoeCfg.Hidden))] public partial RmsNorm AttnNorm { get; }
            [Attention(nameof(MoeCfg.Hidden), nameof(MoeCfg.Heads))] public partial Attention Attn { get; }
            [RmsNorm(nameof(MoeCfg.Hidden))] public partial RmsNorm MoeNorm { get; }
            [MixtureOfExperts(nameof(MoeCfg.Hidden), nameof(MoeCfg.Ffn), nameof(MoeCfg.Experts), TopK = nameof(MoeCfg.TopK)), StateName("block_sparse_moe")]
            public partial MixtureOfExperts Moe { get; }
            [MixtureOfExperts(nameof(MoeCfg.Hidden), 32, 4, TopK = 1, Activation = FeedForwardActivation.Gelu, CapacityFactor = 1.25)]
            public partial MixtureOfExperts Switch { get; }

            private Tensor Forward(Tensor x)
            {
                x = x + Attn.call(AttnNorm.call(x));
                var h = MoeNorm.call(x);
                return x + Moe.call(h) + Switch.call(h);
            }
        }

        [Model(typeof(MoeCfg))]
        [VramBudget(24, SequenceLength = 128, Batch = 4)]
        public partial class MoeModel
        {
            [Embedding(nameof(MoeCfg.Vocab), nameof(MoeCfg.Hidden))] public partial Embedding Embed { get; }
            [Stack(nameof(MoeCfg.Layers))] public partial ModuleList<MoeBlock> Blocks { get; }
            [RmsNorm(nameof(MoeCfg.Hidden))] public partial RmsNorm Norm { get; }
            [Linear(nameof(MoeCfg.Hidden), nameof(MoeCfg.Vocab), Bias = false)] public partial Linear Head { get; }

            private Tensor Forward(Tensor tokens)
            {
                var x = Embed.call(tokens);
                foreach (var block in Blocks)
                    x = block.call(x);
                return Head.call(Norm.call(x));
            }
        }
        """;

    [Fact]
    public void Mixture_of_experts_layers_match_their_snapshots_and_compile()
    {
        var (result, output) = GeneratorHarness.Run(Cases.Usings + Source);
        var sources = result.Results.Single().GeneratedSources;
        foreach (var name in new[] { "MoeBlock", "MoeModel" })
        {
            var module = sources.Single(s => s.HintName.StartsWith("Demo." + name + ".", System.StringComparison.Ordinal)
                && !s.HintName.Contains(".Inference.", System.StringComparison.Ordinal));
            Snapshot.Match("MixtureOfExperts." + name, module.SourceText.ToString());
        }
        var problems = GeneratorHarness.Problems(output);
        if (problems.Count > 0)
            Assert.Fail(string.Join("\n", problems));
    }
}
