using System;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using BenchmarkDotNet.Attributes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using ModelGen.Generators;

namespace ModelGen.Benchmarks;

/// <summary>
/// The generator alone, in process, over a fresh compilation each run (Roslyn caches binding per compilation, so a reused one would
/// hide the binding the generator causes): the 100-distinct-layer model of <see cref="AnalyzerBenchmarks"/>, and a model of a few
/// classes (one [Stack] of a decoder layer). Warm runs: what the generator costs once its code is compiled, as in the compiler server.
/// Results and the profile behind them: docs/benchmarks-analyzers.md.
/// </summary>
[MemoryDiagnoser(false)]
public class GeneratorBenchmarks
{
    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Preview);
    private ImmutableArray<SyntaxTree> _deep;
    private ImmutableArray<SyntaxTree> _small;
    private MetadataReference[] _references = Array.Empty<MetadataReference>();

    [GlobalSetup]
    public void Setup()
    {
        var directory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var trusted = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        _references = trusted.Where(p => Path.GetDirectoryName(p) == directory)
            .Concat(new[] { typeof(ModelAttribute).Assembly.Location, typeof(DType).Assembly.Location, typeof(TorchSharp.torch).Assembly.Location })
            .Distinct().Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToArray();
        _deep = ImmutableArray.Create(CSharpSyntaxTree.ParseText(AnalyzerBenchmarks.Source(), ParseOptions, "Deep.cs"));
        _small = ImmutableArray.Create(CSharpSyntaxTree.ParseText(SmallSource, ParseOptions, "Small.cs"));
        foreach (var trees in new[] { _deep, _small })
        {
            if (Generate(trees) == 0)
                throw new InvalidOperationException("The generator wrote nothing for a benchmark model.");
        }
    }

    [Benchmark]
    public int HundredDistinctLayers() => Generate(_deep);

    [Benchmark]
    public int StackedDecoder() => Generate(_small);

    private int Generate(ImmutableArray<SyntaxTree> trees)
    {
        var compilation = CSharpCompilation.Create("Bench", trees, _references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        var driver = CSharpGeneratorDriver.Create(new[] { new ModelGenGenerator().AsSourceGenerator() }, parseOptions: ParseOptions);
        return driver.RunGenerators(compilation).GetRunResult().GeneratedTrees.Length;
    }

    private const string SmallSource = """
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
            public int Layers { get; init; } = 22;
        }

        [Model(typeof(Cfg)), Precision(DType.BFloat16)]
        [VramBudget(24, SequenceLength = 4096, Batch = 1, Workload = Workload.Training)]
        public partial class Small
        {
            [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden))] public partial Embedding Embed { get; }
            [Stack(nameof(Cfg.Layers))] public partial ModuleList<Block> Blocks { get; }
            [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm Norm { get; }
            [Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab), Bias = false)] public partial Linear Head { get; }
            private Tensor Forward(Tensor tokens)
            {
                var x = Embed.call(tokens);
                foreach (var block in Blocks)
                    x = block.call(x);
                return Head.call(Norm.call(x));
            }
        }

        [Layer(typeof(Cfg))]
        public partial class Block
        {
            [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm AttnNorm { get; }
            [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads), KvHeads = nameof(Cfg.KvHeads), Rotary = true, Causal = true)] public partial Attention Attn { get; }
            [RmsNorm(nameof(Cfg.Hidden))] public partial RmsNorm MlpNorm { get; }
            [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn), Activation = FeedForwardActivation.SwiGlu, Bias = false)] public partial FeedForward Mlp { get; }
            private Tensor Forward(Tensor x)
            {
                x = x + Attn.call(AttnNorm.call(x));
                return x + Mlp.call(MlpNorm.call(x));
            }
        }
        """;
}
