using System.Collections.Immutable;
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
    /// Loops in a Forward body (docs/forward-analysis.md, "Loops"): a <c>for</c> loop over a literal, a constant, a config member or
    /// a stack's <c>Count</c> multiplies what its body saves by the trip count (ops and primitive blocks alike); any other loop is
    /// counted once and named by MG0571 (a warning: the estimate may be low).
    /// </summary>
    public sealed class ForwardLoopTests
    {
        private const long Batch = 2, Seq = 16, Hidden = 64;

        private const string Config = """
            public sealed record Cfg
            {
                public int Hidden { get; init; } = 64;
                public int Ffn { get; init; } = 256;
                public int Layers { get; init; } = 5;
            }

            """;

        private static string Layer(string forward, string members = "") => Config + $$"""
            [Layer(typeof(Cfg))]
            public partial class Block
            {
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Proj { get; }
                private const int Twice = 2;
            {{members}}
                Tensor Forward(Tensor x)
                {
                    {{forward}}
                }
            }
            """;

        [Theory]
        [InlineData("for (var i = 0; i < 3; i++) x = x + nn.functional.gelu(x);", 3)]
        [InlineData("for (int i = 1; i <= 3; ++i) x = x + nn.functional.gelu(x);", 3)]
        [InlineData("for (var i = 0; 4 > i; i += 1) x = x + nn.functional.gelu(x);", 4)]
        [InlineData("for (var i = 0; i < Twice; i++) x = x + nn.functional.gelu(x);", 2)]
        public void A_loop_with_a_constant_trip_count_repeats_its_ops(string loop, long times)
        {
            var body = Parse(Layer(loop + " return Proj.call(x);"), "Block").Body!;
            var gelu = body.Calls.Select(c => c.Op).Single(o => o?.Call == "functional.gelu")!;
            Assert.Equal(times, gelu.Times);
            Assert.Equal(times, Estimate(Layer(loop + " return Proj.call(x);")).SavedTensors.Where(t => t.Block == "functional.gelu").Sum(t => t.Bytes) / (Batch * Seq * Hidden * 4));
        }

        [Fact]
        public void A_loop_bound_by_a_config_member_repeats_by_that_member_and_keeps_its_name()
        {
            var source = Layer("for (var i = 0; i < _cfg.Layers; i++) x = x + nn.functional.gelu(x); return Proj.call(x);", "    private readonly Cfg _cfg = new();");
            var gelu = Parse(source, "Block").Body!.Calls.Select(c => c.Op).Single(o => o?.Call == "functional.gelu")!;
            Assert.Equal(new Dim("Layers", 5), Assert.Single(gelu.Repeats)); // DescribeModel(config) then reads config.Layers
        }

        [Fact]
        public void A_primitive_block_called_in_a_counted_loop_keeps_its_input_once_per_repeat_and_its_weights_once()
        {
            var once = Estimate(Layer("return Proj.call(x);"));
            var four = Estimate(Layer("for (var i = 0; i < 4; i++) x = Proj.call(x); return x;"));
            Assert.Equal(once.WeightBytes, four.WeightBytes);
            Assert.Equal(4 * once.ActivationBytes, four.ActivationBytes);
            Assert.Equal(4 * Batch * Seq * Hidden * 4, four.ActivationBytes);
        }

        [Fact]
        public void A_loop_over_a_stacks_count_repeats_the_ops_around_the_stack_but_not_the_stack()
        {
            var source = Config + """
                [Layer(typeof(Cfg))]
                public partial class Inner
                {
                    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Proj { get; }
                    Tensor Forward(Tensor x) => Proj.call(x);
                }
                [Model(typeof(Cfg))]
                public partial class Net
                {
                    [Stack(nameof(Cfg.Layers))] partial ModuleList<Inner> Blocks { get; }
                    [LayerNorm(nameof(Cfg.Hidden))] partial LayerNorm Norm { get; }
                    Tensor Forward(Tensor x)
                    {
                        for (var i = 0; i < Blocks.Count; i++)
                            x = Norm.call(Blocks[i].call(x));
                        return x;
                    }
                }
                """;
            var body = Parse(source, "Net").Body!;
            Assert.Equal(new Dim("Layers", 5), Assert.Single(body.Calls.Single(c => c.Block == "Norm").Repeats));
            var layers = body.Calls.Where(c => c.Block is not null).Select(c => c.Block).ToList();
            Assert.Equal(new[] { "Blocks", "Norm" }, layers);
        }

        [Theory]
        [InlineData("for (var i = 0; i < x.shape[0]; i++) x = x + nn.functional.gelu(x);", "for (var i = 0; i < x.shape[0]; i++)", "its bound 'x.shape[0]' is not a literal, a constant, a config member or a stack's Count")]
        [InlineData("var n = 0; while (n < 3) { x = x + nn.functional.gelu(x); n++; }", "while (n < 3)", "a while or do loop's count is not known at compile time")]
        [InlineData("for (var i = 0; i < 3; i += 2) x = x + nn.functional.gelu(x);", "for (var i = 0; i < 3; i += 2)", "its counter 'i' does not step by one")]
        public async Task A_loop_of_unknown_count_is_counted_once_and_named(string loop, string header, string reason)
        {
            var source = Layer(loop + " return Proj.call(x);");
            var info = Assert.Single(await AnalyzerRun.Diagnostics(new ForwardAnalyzer(), source), d => d.Id == "MG0571");
            Assert.Equal(DiagnosticSeverity.Warning, info.Severity); // the estimate may be low: the build prints it
            Assert.Equal($"'{header}' in 'Block.Forward' runs a number of times not known at compile time ({reason}): the memory estimate counts its body once",
                info.GetMessage(CultureInfo.InvariantCulture));
            Assert.Equal(header.Split(' ')[0], info.Location.SourceTree!.GetText().ToString(info.Location.SourceSpan));
            var gelu = Parse(source, "Block").Body!.Calls.Select(c => c.Op).Single(o => o?.Call == "functional.gelu")!;
            Assert.Equal(1, gelu.Times);
        }

        [Fact]
        public async Task A_counted_loop_and_a_stack_foreach_raise_no_diagnostic()
        {
            var diagnostics = await AnalyzerRun.Diagnostics(new ForwardAnalyzer(), Layer("for (var i = 0; i < 3; i++) x = x + nn.functional.gelu(x); return Proj.call(x);"));
            Assert.DoesNotContain(diagnostics, d => d.Id == "MG0571");
        }

        private const string Nested = """
            [Layer(typeof(Cfg))]
            public partial class Inner
            {
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Proj { get; }
                Tensor Forward(Tensor x) => Proj.call(x);
            }
            [Model(typeof(Cfg))]
            public partial class Net
            {
                [Stack(nameof(Cfg.Layers))] partial ModuleList<Inner> Blocks { get; }
                [Sublayer] partial Inner Shared { get; }
                Tensor Forward(Tensor x)
                {
                    LOOPS
                    return x;
                }
            }
            """;

        [Theory]
        [InlineData("foreach (var b in Blocks) x = b.call(x);")]
        [InlineData("for (var i = 0; i < Blocks.Count; i++) x = Blocks[i].call(x);")]
        public async Task A_stack_called_in_its_own_loop_is_no_repeat(string loop)
        {
            var diagnostics = await AnalyzerRun.Diagnostics(new ForwardAnalyzer(), Config + Nested.Replace("LOOPS", loop + " x = Shared.call(x);"));
            Assert.DoesNotContain(diagnostics, d => d.Id is "MG0571" or "MG0572");
        }

        [Fact]
        public async Task A_sublayer_called_in_a_counted_loop_is_walked_once_and_named()
        {
            var diagnostics = await AnalyzerRun.Diagnostics(new ForwardAnalyzer(), Config + Nested.Replace("LOOPS", "for (var i = 0; i < 3; i++) x = Shared.call(Blocks[0].call(x));"));
            var infos = diagnostics.Where(d => d.Id == "MG0572").Select(d => d.GetMessage(CultureInfo.InvariantCulture)).OrderBy(m => m, System.StringComparer.Ordinal).ToList();
            Assert.Equal(new[]
            {
                "'Blocks' is called inside a loop of 3 repeats in 'Net.Forward': the memory estimate walks it once",
                "'Shared' is called inside a loop of 3 repeats in 'Net.Forward': the memory estimate walks it once",
            }, infos);
        }

        private static LayerMemory Estimate(string source)
        {
            var spec = Parse(source, "Block") with { IsModel = true };
            var scenario = new ScenarioSpec(80, Workload.Training, Seq, Batch, Optimizer.AdamW);
            var estimate = MemoryModel.Estimate(new ModelSpec(spec, EquatableArray<LayerSpec>.Empty), scenario, DeviceProfile.Cpu);
            return estimate.Layers.Single();
        }

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
