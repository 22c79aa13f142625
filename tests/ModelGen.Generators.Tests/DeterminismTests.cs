using System.Linq;
using Microsoft.CodeAnalysis;

namespace ModelGen.Generators.Tests;

/// <summary>The same sources give byte-identical generated files and diagnostics, run after run, driver after driver.</summary>
public class DeterminismTests
{
    private const string Broken = """
        using ModelGen; using TorchSharp.Modules; using static TorchSharp.torch;
        namespace Demo.Broken;
        public sealed record Cfg { public int Hidden { get; init; } = 64; }
        [Layer(typeof(Cfg))]
        public partial class A { [Sublayer] partial B Inner { get; } [Linear("Nope", 4)] partial Linear Up { get; } Tensor Forward(Tensor x) => x; }
        [Layer(typeof(Cfg))]
        public partial class B { [Sublayer] partial A Outer { get; } Tensor Forward(Tensor x) => x; }
        """;

    private static string Snapshot(string[] sources)
    {
        var compilation = GeneratorHarness.Compile(sources);
        var result = GeneratorHarness.CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out _, out var diagnostics).GetRunResult();
        var files = result.Results.Single().GeneratedSources
            .OrderBy(s => s.HintName, System.StringComparer.Ordinal)
            .Select(s => "== " + s.HintName + "\n" + s.SourceText);
        var messages = diagnostics.Select(d => $"{d.Id} {d.Location.GetLineSpan()} {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}");
        return string.Join("\n", files) + "\n== diagnostics\n" + string.Join("\n", messages);
    }

    [Fact]
    public void Generated_sources_and_diagnostics_are_identical_across_runs()
    {
        var sources = Cases.All.Keys.Select(Cases.Source).Take(1).Concat(new[] { Broken }).ToArray();
        var first = Snapshot(sources);
        Assert.Contains("MG0119", first, System.StringComparison.Ordinal);
        Assert.Contains("MG0102", first, System.StringComparison.Ordinal);
        for (var run = 0; run < 3; run++)
            Assert.Equal(first, Snapshot(sources));
    }

    [Fact]
    public void Each_case_generates_the_same_bytes_twice()
    {
        foreach (var name in Cases.All.Keys)
            Assert.Equal(Snapshot(new[] { Cases.Source(name) }), Snapshot(new[] { Cases.Source(name) }));
    }
}
