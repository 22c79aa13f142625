using System;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using ModelGen.Analyzers;
using ModelGen.Generators;

namespace ModelGen.Benchmarks;

/// <summary>
/// Analyzer time on a 100-layer model against compiling it. The model has <see cref="LayerCount"/> distinct [Layer] classes
/// (each parsed on its own, the expensive case; a [Stack] of one class would be parsed once), each an attention block and a
/// SwiGLU MLP, used once each from a bf16 [Model] with two budgets: training at seq 4096 on 24 GB (exceeded: MG0001, remedies,
/// cards) and inference at seq 4096 on 80 GB (fits: cards). Each iteration builds a fresh compilation, because Roslyn caches
/// binding per compilation:
/// <list type="bullet">
/// <item><see cref="Compile"/>: run the generator and emit the assembly (what a build does without analyzers);</item>
/// <item><see cref="Analyzers"/>: LayerAnalyzer and BudgetAnalyzer over the generated compilation, with the default options
/// (MG0002 off, so no fit search);</item>
/// <item><see cref="LayerAnalyzerOnly"/> and <see cref="BudgetAnalyzerOnly"/>: each analyzer alone;</item>
/// <item><see cref="AnalyzersWithFitReport"/>: both with MG0002 switched on (two binary searches per fitting budget).</item>
/// </list>
/// Results: docs/benchmarks-analyzers.md.
/// </summary>
[MemoryDiagnoser(false)]
public class AnalyzerBenchmarks
{
    /// <summary>Distinct layer classes in the model.</summary>
    public const int LayerCount = 100;

    private ImmutableArray<SyntaxTree> _userTrees;
    private ImmutableArray<SyntaxTree> _generatedTrees;
    private MetadataReference[] _references = Array.Empty<MetadataReference>();
    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Preview);

    [GlobalSetup]
    public void Setup()
    {
        _userTrees = ImmutableArray.Create(CSharpSyntaxTree.ParseText(Source(), ParseOptions, "Model.cs"));
        var directory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var trusted = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        _references = trusted.Where(p => Path.GetDirectoryName(p) == directory)
            .Concat(new[] { typeof(ModelAttribute).Assembly.Location, typeof(DType).Assembly.Location, typeof(TorchSharp.torch).Assembly.Location })
            .Distinct().Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToArray();

        var generated = Generate(NewCompilation(_userTrees));
        _generatedTrees = generated.SyntaxTrees.Except(_userTrees).ToImmutableArray();
        var errors = generated.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (errors.Count > 0 || _generatedTrees.Length == 0)
            throw new InvalidOperationException("The benchmark model does not compile: " + string.Join("; ", errors.Take(3)));
        var diagnostics = AnalyzeAsync(generated, fitReport: false);
        if (!diagnostics.Any(d => d.Id == "MG0001"))
            throw new InvalidOperationException("The benchmark model should exceed its training budget (MG0001).");
    }

    [Benchmark(Baseline = true)]
    public long Compile()
    {
        var compilation = Generate(NewCompilation(_userTrees));
        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        if (!result.Success)
            throw new InvalidOperationException("Emit failed: " + result.Diagnostics.First(d => d.Severity == DiagnosticSeverity.Error));
        return stream.Length;
    }

    [Benchmark]
    public int Analyzers() => AnalyzeAsync(NewCompilation(_userTrees.AddRange(_generatedTrees)), fitReport: false).Length;

    [Benchmark]
    public int LayerAnalyzerOnly() => Run(NewCompilation(_userTrees.AddRange(_generatedTrees)), new LayerAnalyzer()).Length;

    [Benchmark]
    public int BudgetAnalyzerOnly() => Run(NewCompilation(_userTrees.AddRange(_generatedTrees)), new BudgetAnalyzer()).Length;

    [Benchmark]
    public int AnalyzersWithFitReport() => AnalyzeAsync(NewCompilation(_userTrees.AddRange(_generatedTrees)), fitReport: true).Length;

    private CSharpCompilation NewCompilation(ImmutableArray<SyntaxTree> trees) =>
        CSharpCompilation.Create("Bench", trees, _references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    private static Compilation Generate(Compilation compilation)
    {
        var driver = CSharpGeneratorDriver.Create(new[] { new ModelGenGenerator().AsSourceGenerator() }, parseOptions: ParseOptions);
        driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        return output;
    }

    private static ImmutableArray<Diagnostic> AnalyzeAsync(Compilation compilation, bool fitReport)
    {
        var options = fitReport
            ? compilation.Options.WithSpecificDiagnosticOptions(compilation.Options.SpecificDiagnosticOptions.SetItem("MG0002", ReportDiagnostic.Info))
            : compilation.Options;
        return compilation.WithOptions(options)
            .WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new LayerAnalyzer(), new BudgetAnalyzer()))
            .GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();
    }

    private static ImmutableArray<Diagnostic> Run(Compilation compilation, DiagnosticAnalyzer analyzer) =>
        compilation.WithAnalyzers(ImmutableArray.Create(analyzer)).GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();

    /// <summary>The model: a config, <see cref="LayerCount"/> layer classes and the model that uses each once.</summary>
    public static string Source()
    {
        var text = new StringBuilder("""
            using ModelGen;
            using ModelGen.Nn;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            namespace Bench;

            public sealed record Cfg
            {
                public int Vocab { get; init; } = 32000;
                public int Hidden { get; init; } = 2048;
                public int Heads { get; init; } = 16;
                public int KvHeads { get; init; } = 4;
                public int Ffn { get; init; } = 5632;
            }

            [Model(typeof(Cfg)), Precision(DType.BFloat16)]
            [VramBudget(24, SequenceLength = 4096, Batch = 1, Workload = Workload.Training)]
            [VramBudget(80, SequenceLength = 4096, Batch = 1, Workload = Workload.Inference)]
            public partial class Deep
            {
                [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden))] public partial Embedding Embed { get; }

            """);
        for (var i = 0; i < LayerCount; i++)
            text.AppendLine($"    [Sublayer] public partial Block{i} L{i} {{ get; }}");
        text.AppendLine("""
                [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm Norm { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab), Bias = false)] public partial Linear Head { get; }
                private Tensor Forward(Tensor tokens) => Head.call(Norm.call(Embed.call(tokens)));
            }
            """);
        for (var i = 0; i < LayerCount; i++)
        {
            text.AppendLine($$"""
                [Layer(typeof(Cfg))]
                public partial class Block{{i}}
                {
                    [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm AttnNorm { get; }
                    [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads), KvHeads = nameof(Cfg.KvHeads), Rotary = true)] public partial Attention Attn { get; }
                    [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm MlpNorm { get; }
                    [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn), Activation = FeedForwardActivation.SwiGlu, Bias = false)] public partial FeedForward Mlp { get; }
                    private Tensor Forward(Tensor x)
                    {
                        x = x + Attn.call(AttnNorm.call(x));
                        return x + Mlp.call(MlpNorm.call(x));
                    }
                }
                """);
        }
        return text.ToString();
    }
}
