using System.Threading.Tasks;
using ModelGen.Analyzers.Tests.Infrastructure;

namespace ModelGen.Analyzers.Tests
{
    /// <summary>
    /// The analyzers run on the compilation after generation, where a forward with several inputs or a tuple result has given
    /// its class a base such as <c>Module&lt;Tensor, Tensor, Tensor&gt;</c>. That base is the generator's, not the user's: the
    /// checks and the budget still run (before this was known, every such class lost its analyzer diagnostics in a real build).
    /// </summary>
    public sealed class MultiInputAnalysisTests
    {
        private const string Config = "public sealed record Cfg { public int Vocab { get; init; } = 32000; public int Hidden { get; init; } = 64; }\n";

        [Fact]
        public Task A_layer_with_two_inputs_gets_its_block_checks() => new AnalyzerTest<LayerAnalyzer>(Config + """
            [Layer(typeof(Cfg))]
            public partial class Block
            {
                [Embedding(nameof(Cfg.Hidden), nameof(Cfg.Hidden)), {|MG0301:Quantize(QuantKind.Int8)|}] partial Embedding Table { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Proj { get; }
                Tensor Forward(Tensor x, [Input(InputShape.Hidden, Width = nameof(Cfg.Hidden))] Tensor scale) => Proj.call(x) * scale;
            }
            """).RunAsync();

        [Fact]
        public Task A_layer_with_a_tuple_result_gets_its_block_checks() => new AnalyzerTest<LayerAnalyzer>(Config + """
            [Layer(typeof(Cfg))]
            public partial class Block
            {
                [Embedding(nameof(Cfg.Hidden), nameof(Cfg.Hidden)), {|MG0301:Quantize(QuantKind.Int8)|}] partial Embedding Table { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Proj { get; }
                (Tensor Output, Tensor Input) Forward(Tensor x) => (Proj.call(x), x);
            }
            """).RunAsync();

        [Fact]
        public Task A_model_with_ids_and_a_mask_is_still_sized_against_its_budget() => new AnalyzerTest<BudgetAnalyzer>(Config + """
            [Model(typeof(Cfg))]
            [{|MG0001:VramBudget(0.01, SequenceLength = 4096, Batch = 8)|}]
            public partial class Net
            {
                [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden))] partial Embedding Embed { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab))] partial Linear Head { get; }
                Tensor Forward(Tensor ids, [Input(InputShape.Tokens)] Tensor mask) => Head.call(Embed.call(ids) * mask.unsqueeze(-1));
            }
            """) { DisabledDiagnostics = { "MG0002", "MG0003", "MG0004", "MG0005" } }.RunAsync();
    }
}
