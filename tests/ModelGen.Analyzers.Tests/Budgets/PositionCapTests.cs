using System.Linq;
using System.Threading.Tasks;
using ModelGen.Analyzers.Budgets;
using ModelGen.Analyzers.Checks;
using ModelGen.Analyzers.Tests.Infrastructure;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Tests.Budgets
{
    /// <summary>A learned position table caps the sequence: MG0540 past it, and MG0002's "fits up to seq N" never beyond it.</summary>
    public sealed class PositionCapTests
    {
        /// <summary>GPT-2 small's shape (tied head, 1024 positions) as the parser builds it.</summary>
        private static ModelSpec Gpt2(long positions)
        {
            static Dim D(string member, long value) => new(member, value);
            static LayerSpec Layer(string name, bool isModel, params BlockSpec[] blocks) =>
                new("Demo", name, "global::Demo." + name, "public", "global::Demo.Cfg", isModel, blocks.ToEquatableArray(), new ForwardSpec("Forward", "x"));
            var root = Layer("Gpt2", true,
                new EmbeddingSpec("Wte", "wte", D("Vocab", 50257), D("Hidden", 768)),
                new EmbeddingSpec("Wpe", "wpe", D("Context", positions), D("Hidden", 768)) { Role = EmbeddingRole.Positions },
                new StackSpec("H", "h", D("Layers", 12), "global::Demo.Block", 0),
                new LayerNormSpec("LnF", "ln_f", D("Hidden", 768), 1e-5, true),
                new LinearSpec("LmHead", "lm_head", D("Hidden", 768), D("Vocab", 50257), false) { TiedTo = "Wte", Head = HeadKind.LanguageModel }) with { Precision = DType.BFloat16 };
            var block = Layer("Block", false,
                new LayerNormSpec("Ln1", "ln_1", D("Hidden", 768), 1e-5, true),
                new AttentionSpec("Attn", "attn", D("Hidden", 768), D("Heads", 12), D("Heads", 12), true, false, 10000, true, true, 0.1),
                new LayerNormSpec("Ln2", "ln_2", D("Hidden", 768), 1e-5, true),
                new FeedForwardSpec("Mlp", "mlp", D("Hidden", 768), D("Ffn", 3072), FeedForwardActivation.Gelu, true));
            return new ModelSpec(root, new[] { block }.ToEquatableArray());
        }

        [Fact]
        public void Fits_up_to_stops_at_the_position_table()
        {
            // The example: 24 GB used to report "fits up to seq 13093" for a 1024-row table.
            var scenario = new ScenarioSpec(24, Workload.Training, 512, 1, Optimizer.AdamW);
            var fits = BudgetEvaluator.Evaluate(Gpt2(1024), scenario, BudgetReports.Fits).Single(f => f.Id == "MG0002");
            Assert.Equal("1024", fits.Arguments[8]);
            var wider = BudgetEvaluator.Evaluate(Gpt2(1L << 20), scenario, BudgetReports.Fits).Single(f => f.Id == "MG0002");
            Assert.True(long.Parse(wider.Arguments[8], System.Globalization.CultureInfo.InvariantCulture) > 1024);
        }

        [Fact]
        public void A_budget_past_the_table_is_MG0540_naming_it()
        {
            var finding = SpecChecks.CheckPositions(Gpt2(1024), new ScenarioSpec(24, Workload.Training, 2048, 1, Optimizer.AdamW)).Single();
            Assert.Equal("MG0540", finding.Id);
            Assert.Contains("'Gpt2.Wpe' has 1024 rows", finding.Message, System.StringComparison.Ordinal);
            Assert.Empty(SpecChecks.CheckPositions(Gpt2(1024), new ScenarioSpec(24, Workload.Training, 1024, 1, Optimizer.AdamW)));
        }

        [Fact]
        public Task The_analyzer_reports_MG0540_on_the_budget() => new AnalyzerTest<BudgetAnalyzer>("""
            public sealed record Cfg { public int Vocab { get; init; } = 256; public int Hidden { get; init; } = 64; }

            [Model(typeof(Cfg))]
            [{|MG0540:VramBudget(24, SequenceLength = 2048)|}]
            [VramBudget(24, SequenceLength = 1024)]
            public partial class Gpt
            {
                [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden))] partial Embedding Wte { get; }
                [Embedding(1024, nameof(Cfg.Hidden), Role = EmbeddingRole.Positions)] partial Embedding Wpe { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab)), Head(HeadKind.LanguageModel)] partial Linear Head { get; }
                Tensor Forward(Tensor x) => x;
            }
            """) { DisabledDiagnostics = { "MG0002", "MG0004" } }.RunAsync();
    }
}
