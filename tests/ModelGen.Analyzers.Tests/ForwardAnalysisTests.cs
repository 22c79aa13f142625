using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using ModelGen.Analyzers.ForwardAnalysis;
using ModelGen.Analyzers.Tests.Infrastructure;
using ModelGen.Memory;
using ModelGen.Parsing;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Tests
{
    /// <summary>
    /// The Forward-body analysis: symbolic shapes in the messages of MG0501–MG0508 at the op, the info diagnostic for an op it
    /// does not know, the saved tensors it hands the memory model (derivatives.yaml's rules), and budgets that change when ops
    /// are written between blocks.
    /// </summary>
    public sealed class ForwardAnalysisTests
    {
        private const string Config = """
            public sealed record Cfg
            {
                public int Hidden { get; init; } = 64;
                public int Ffn { get; init; } = 256;
                public int Heads { get; init; } = 4;
                public int Layers { get; init; } = 2;
                public int Vocab { get; init; } = 1000;
            }

            """;

        private static string Block(string forward, string blocks = """
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Ffn))] partial Linear Up { get; }
                [Linear(nameof(Cfg.Ffn), nameof(Cfg.Hidden))] partial Linear Down { get; }
            """) => Config + $$"""
            [Layer(typeof(Cfg))]
            public partial class Block
            {
            {{blocks}}
                Tensor Forward(Tensor x)
                {
                    {{forward}}
                }
            }
            """;

        [Fact]
        public async Task A_width_mismatch_names_both_shapes_in_the_configs_words_at_the_op()
        {
            var diagnostics = await AnalyzerRun.Diagnostics(new ForwardAnalyzer(), Block("return Up.call(x) + x;"));
            var error = Assert.Single(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
            Assert.Equal("MG0501", error.Id);
            Assert.Equal("'operator +' of [batch, seq, Ffn (256)] and [batch, seq, Hidden (64)]: dimensions Ffn (256) and Hidden (64) neither match nor broadcast",
                error.GetMessage(CultureInfo.InvariantCulture));
            Assert.Equal("Up.call(x) + x", error.Location.SourceTree!.GetText().ToString(error.Location.SourceSpan));
        }

        [Fact]
        public async Task A_block_fed_the_wrong_width_says_what_it_expects()
        {
            var diagnostics = await AnalyzerRun.Diagnostics(new ForwardAnalyzer(), Block("return Down.call(x);"));
            var error = Assert.Single(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
            Assert.Equal("MG0505", error.Id);
            Assert.Equal("Block 'Down' expects a last dimension of Ffn (256) but receives [batch, seq, Hidden (64)]", error.GetMessage(CultureInfo.InvariantCulture));
        }

        [Fact]
        public async Task A_reshape_that_changes_the_element_count_gives_both_counts()
        {
            var diagnostics = await AnalyzerRun.Diagnostics(new ForwardAnalyzer(), Block("return Down.call(Up.call(x)).view(x.shape[0], x.shape[1], 3, 16);"));
            var error = Assert.Single(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
            Assert.Equal("MG0504", error.Id);
            Assert.Equal("'view' of [batch, seq, Hidden (64)] to [batch, seq, 3, 16]: batch·seq·Hidden (64) elements cannot become batch·seq·3·16",
                error.GetMessage(CultureInfo.InvariantCulture));
        }

        [Fact]
        public async Task An_unknown_call_gets_an_info_diagnostic_naming_it_never_silence()
        {
            var source = Block("return Down.call(Scale(Up.call(x)));") + """

                public partial class Block { private static Tensor Scale(Tensor t) => t * 2; }
                """;
            var diagnostics = await AnalyzerRun.Diagnostics(new ForwardAnalyzer(), source);
            var info = Assert.Single(diagnostics, d => d.Id == "MG0539");
            Assert.Equal(DiagnosticSeverity.Info, info.Severity);
            Assert.StartsWith("'Scale' in 'Block.Forward' is not analyzed: the memory estimate assumes it keeps every tensor operand and its result (saved: [batch, seq, Ffn (256)]",
                info.GetMessage(CultureInfo.InvariantCulture));
        }

        [Fact]
        public async Task A_correct_decoder_layer_written_by_hand_has_no_finding()
        {
            var forward = """
                var b = x.shape[0];
                var s = x.shape[1];
                var q = Q.call(x).view(b, s, 4, -1).transpose(1, 2);
                var k = K.call(x).view(b, s, 4, 16).transpose(1, 2);
                var v = V.call(x).view(b, s, 4, 16).transpose(1, 2);
                var mask = ones(s, s).triu(1).to(ScalarType.Bool);
                var scores = matmul(q, k.transpose(-2, -1)).masked_fill(mask, double.NegativeInfinity) / 4.0;
                var context = matmul(nn.functional.softmax(scores, -1), v).transpose(1, 2).reshape(b, s, 64);
                var h = x + O.call(context);
                var parts = Up.call(h).chunk(2, -1);
                return h + Down.call(nn.functional.silu(parts[0]) * parts[1]);
                """;
            var blocks = """
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Q { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear K { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear V { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear O { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Ffn))] partial Linear Up { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Down { get; }
            """;
            // Up is Hidden → Ffn (256): chunked in two, each half is Ffn/2 = 128 wide, so Down (Hidden = 64 in) is fed the wrong width.
            var wrong = await AnalyzerRun.Diagnostics(new ForwardAnalyzer(), Block(forward, blocks));
            Assert.Equal("MG0505", Assert.Single(wrong, d => d.Severity == DiagnosticSeverity.Error).Id);
            var right = await AnalyzerRun.Diagnostics(new ForwardAnalyzer(), Block(forward, blocks.Replace("[Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Down", "[Linear(128, nameof(Cfg.Hidden))] partial Linear Down")));
            Assert.DoesNotContain(right, d => d.Id.StartsWith("MG05", System.StringComparison.Ordinal));
            Assert.NotNull(Parse(Block(forward, blocks), "Block").Body); // the layer parsed and its body was walked
        }

        [Fact]
        public void Hand_written_attention_saves_what_autograd_saves()
        {
            var forward = """
                var b = x.shape[0];
                var s = x.shape[1];
                var q = Q.call(x).view(b, s, 4, 16).transpose(1, 2);
                var k = K.call(x).view(b, s, 4, 16).transpose(1, 2);
                var v = V.call(x).view(b, s, 4, 16).transpose(1, 2);
                var p = nn.functional.softmax(matmul(q, k.transpose(-2, -1)) / 4.0, -1);
                return O.call(matmul(p, v).transpose(1, 2).reshape(b, s, 64));
                """;
            var blocks = """
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Q { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear K { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear V { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear O { get; }
            """;
            var body = Parse(Block(forward, blocks), "Block").Body!;
            const long batch = 2, seq = 8, d = 4;
            var saved = body.Calls.Where(c => c.Op is not null).SelectMany(c => c.Op!.Saved).ToList();
            // matmul saves q and kᵀ, then (softmax output, already kept by softmax) and v; dividing by a scalar saves nothing;
            // O saves its own input (counted by the Linear block, not here): 3·b·s·Hidden + Heads·b·s² elements.
            Assert.Equal((3 * batch * seq * 64 + 4 * batch * seq * seq) * d, saved.Sum(t => t.Bytes(batch, seq, (int)d, 1, booleanMask: true)));
            Assert.Equal(new[] { "Q", "K", "V", "O" }, body.Calls.Where(c => c.Block is not null).Select(c => c.Block));
            Assert.Contains(saved, t => t.Name == "functional.softmax output [batch, 4, seq, seq]");
        }

        [Fact]
        public async Task An_extra_gelu_between_blocks_raises_the_budget_estimate_by_its_saved_input()
        {
            string Model(string forward) => Config + $$"""
                [Model(typeof(Cfg)), VramBudget(80, SequenceLength = 512, Batch = 4)]
                public partial class Net
                {
                    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Ffn))] partial Linear Up { get; }
                    [Linear(nameof(Cfg.Ffn), nameof(Cfg.Hidden))] partial Linear Down { get; }
                    Tensor Forward(Tensor x) => {{forward}};
                }
                """;
            var options = ("MG0002", ReportDiagnostic.Warn);
            var plain = Assert.Single(await AnalyzerRun.Diagnostics(new BudgetAnalyzer(), Model("Down.call(Up.call(x))"), options), d => d.Id == "MG0002");
            var gelu = Assert.Single(await AnalyzerRun.Diagnostics(new BudgetAnalyzer(), Model("Down.call(nn.functional.gelu(Up.call(x)))"), options), d => d.Id == "MG0002");
            var activations = (Diagnostic d) => long.Parse(d.Properties["Term.activations"]!, CultureInfo.InvariantCulture);
            // fp32 model: gelu keeps its input, 4 · 512 · Ffn (256) · 4 bytes, in the same peak phase (backward).
            Assert.Equal(plain.Properties["PeakPhase"], gelu.Properties["PeakPhase"]);
            Assert.Equal(4L * 512 * 256 * 4, activations(gelu) - activations(plain));
        }

        /// <summary>Parses <paramref name="type"/> of <paramref name="source"/> with the one parser (as the analyzers and the generator do).</summary>
        private static LayerSpec Parse(string source, string type)
        {
            var tree = CSharpSyntaxTree.ParseText(Sources.Usings + source, new CSharpParseOptions(LanguageVersion.Preview));
            var compilation = CSharpCompilation.Create("Test", new[] { tree }, TestReferences.All,
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
            var symbol = compilation.GetTypeByMetadataName(type)!;
            return ParseCache.Parse(symbol, compilation, CancellationToken.None).Spec!;
        }
    }
}
