using System.Linq;
using Microsoft.CodeAnalysis;

namespace ModelGen.Generators.Tests;

/// <summary>
/// A [Layer] class that is not partial but has partial block properties: without a generated part the compiler adds CS0751 and CS9248
/// for every such property beside MG0101; with the generator's shell only one CS0260 ("missing partial modifier") remains, at the class.
/// </summary>
public class NotPartialTests
{
    private const string Source = """
        using ModelGen; using TorchSharp.Modules; using static TorchSharp.torch;
        namespace Demo;
        public sealed record Cfg { public int Hidden { get; init; } = 64; }
        [Layer(typeof(Cfg))]
        public class Block
        {
            [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Up { get; }
            [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Down { get; }
            Tensor Forward(Tensor x) => Down.call(Up.call(x));
        }
        """;

    [Fact]
    public void A_class_without_partial_gets_MG0101_and_one_CS0260_instead_of_two_errors_per_partial_property()
    {
        var compilation = GeneratorHarness.Compile(Source);
        var before = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.Id).OrderBy(i => i).ToList();
        Assert.Equal(new[] { "CS0751", "CS0751", "CS9248", "CS9248" }, before);

        GeneratorHarness.CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        var mg0101 = Assert.Single(generatorDiagnostics);
        Assert.Equal("MG0101", mg0101.Id);
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        var cs0260 = Assert.Single(errors);
        Assert.Equal("CS0260", cs0260.Id);
        Assert.Equal("User0.cs", cs0260.Location.SourceTree!.FilePath);
        Assert.Equal(mg0101.Location.GetLineSpan().StartLinePosition.Line, cs0260.Location.GetLineSpan().StartLinePosition.Line);
    }
}
