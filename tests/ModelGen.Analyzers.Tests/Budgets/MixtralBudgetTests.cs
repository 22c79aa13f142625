using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using ModelGen.Analyzers.Budgets;
using ModelGen.Analyzers.Tests.Infrastructure;

namespace ModelGen.Analyzers.Tests.Budgets
{
    /// <summary>The budget analyzer sizes a Mixtral-8x7B-shaped model written with [MixtureOfExperts] (docs/moe.md).</summary>
    public sealed class MixtralBudgetTests
    {
        private static string Source(string budget) => """
            public sealed record MixtralConfig
            {
                public int Vocab { get; init; } = 32000;
                public int Hidden { get; init; } = 4096;
                public int Layers { get; init; } = 32;
                public int Heads { get; init; } = 32;
                public int KvHeads { get; init; } = 8;
                public int Ffn { get; init; } = 14336;
                public int Experts { get; init; } = 8;
                public int TopK { get; init; } = 2;
            }

            [Model(typeof(MixtralConfig))]
            [Precision(DType.BFloat16)]
            """ + budget + """

            public partial class Mixtral
            {
                [Embedding(nameof(MixtralConfig.Vocab), nameof(MixtralConfig.Hidden))] partial Embedding Embed { get; }
                [Stack(nameof(MixtralConfig.Layers))] partial ModuleList<MixtralBlock> Blocks { get; }
                [RmsNorm(nameof(MixtralConfig.Hidden))] partial ModelGen.Nn.RmsNorm Norm { get; }
                [Linear(nameof(MixtralConfig.Hidden), nameof(MixtralConfig.Vocab), Bias = false)] partial Linear Head { get; }
                Tensor Forward(Tensor tokens)
                {
                    var x = Embed.call(tokens);
                    foreach (var block in Blocks)
                        x = block.call(x);
                    return Head.call(Norm.call(x));
                }
            }

            [Layer(typeof(MixtralConfig))]
            public partial class MixtralBlock
            {
                [RmsNorm(nameof(MixtralConfig.Hidden))] partial ModelGen.Nn.RmsNorm AttnNorm { get; }
                [Attention(nameof(MixtralConfig.Hidden), nameof(MixtralConfig.Heads), KvHeads = nameof(MixtralConfig.KvHeads), Rotary = true, RopeTheta = 1000000)]
                partial ModelGen.Nn.Attention Attn { get; }
                [RmsNorm(nameof(MixtralConfig.Hidden))] partial ModelGen.Nn.RmsNorm MoeNorm { get; }
                [MixtureOfExperts(nameof(MixtralConfig.Hidden), nameof(MixtralConfig.Ffn), nameof(MixtralConfig.Experts), TopK = nameof(MixtralConfig.TopK)), StateName("block_sparse_moe")]
                partial ModelGen.Nn.MixtureOfExperts Moe { get; }
                Tensor Forward(Tensor x)
                {
                    x = x + Attn.call(AttnNorm.call(x));
                    return x + Moe.call(MoeNorm.call(x));
                }
            }
            """;

        [Fact]
        public async Task Mixtral_8x7B_in_bf16_does_not_fit_an_80_GB_card_for_inference_and_counts_46_7_B_parameters()
        {
            var diagnostics = await AnalyzerRun.Diagnostics(new BudgetAnalyzer(), Source("[VramBudget(80, SequenceLength = 4096, Workload = Workload.Inference)]"));
            var warning = Assert.Single(diagnostics, d => d.Id == "MG0001");
            // 46,702,792,704 parameters (Mixtral_8x7B_has_46702792704_parameters): 87.0 GB of bf16 weights, plus 0.1 GB of the
            // rotary cos/sin tables (32 layers · 2 · 4096 positions · 128 · 4 bytes).
            Assert.Equal("46702792704", warning.Properties[BudgetProperties.ParameterCount]);
            var message = warning.GetMessage(CultureInfo.InvariantCulture);
            Assert.True(message.Contains("weights 87.1 GB", System.StringComparison.Ordinal), message);
        }

        [Fact]
        public async Task Two_80_GB_cards_worth_of_budget_fit_its_inference()
        {
            var diagnostics = await AnalyzerRun.Diagnostics(new BudgetAnalyzer(), Source("[VramBudget(160, SequenceLength = 4096, Workload = Workload.Inference)]"));
            Assert.DoesNotContain(diagnostics, d => d.Id == "MG0001");
        }
    }
}
