using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace ModelGen.Generators.Tests;

/// <summary>
/// The generator's diagnostics are located in the user's syntax trees, not at file paths: the command line prints their line and
/// column, and <c>#pragma warning disable</c> applies (here to one made a warning, as a user would in .editorconfig) (a file location, an "external file", is never suppressed).
/// </summary>
public class DiagnosticLocationTests
{
    private const string Source = """
        using ModelGen; using TorchSharp.Modules; using static TorchSharp.torch;
        namespace Demo;
        public sealed record Cfg { public int Hidden { get; init; } = 64; }
        [Layer(typeof(Cfg))]
        public partial class Bad
        {
        // PRAGMA
            [Linear(nameof(Cfg.Hidden), "Missing")] partial Linear Up { get; }
        // RESTORE
            Tensor Forward(Tensor x) => Up.call(x);
        }
        """;

    private static (Diagnostic[] All, Compilation Output) Run(string source, ReportDiagnostic? mg0102 = null)
    {
        var compilation = GeneratorHarness.Compile(source);
        if (mg0102 is { } severity)
            compilation = compilation.WithOptions(compilation.Options.WithSpecificDiagnosticOptions(compilation.Options.SpecificDiagnosticOptions.SetItem("MG0102", severity)));
        GeneratorHarness.CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        return (diagnostics.Where(d => d.Id == "MG0102").ToArray(), output);
    }

    [Fact]
    public void A_generator_error_is_located_in_the_users_tree_with_its_line_and_column()
    {
        var (diagnostics, _) = Run(Source);
        var error = Assert.Single(diagnostics);
        Assert.Equal(LocationKind.SourceFile, error.Location.Kind);
        Assert.Equal("User0.cs", error.Location.SourceTree!.FilePath);
        var line = error.Location.GetLineSpan();
        var text = Source.Split('\n')[line.StartLinePosition.Line];
        Assert.Contains("\"Missing\"", text.Substring(line.StartLinePosition.Character), System.StringComparison.Ordinal);
        // What the command line prints: path(line,column): error MG0102: …
        Assert.StartsWith($"User0.cs({line.StartLinePosition.Line + 1},{line.StartLinePosition.Character + 1}): error MG0102", error.ToString(), System.StringComparison.Ordinal);
    }

    [Fact]
    public void Pragma_warning_disable_suppresses_a_generator_diagnostic_made_a_warning()
    {
        var (plain, _) = Run(Source, ReportDiagnostic.Warn);
        Assert.Equal(DiagnosticSeverity.Warning, Assert.Single(plain).Severity);
        Assert.False(plain[0].IsSuppressed);

        var suppressed = Source.Replace("// PRAGMA", "#pragma warning disable MG0102", System.StringComparison.Ordinal)
            .Replace("// RESTORE", "#pragma warning restore MG0102", System.StringComparison.Ordinal);
        var (diagnostics, _) = Run(suppressed, ReportDiagnostic.Warn);
        Assert.True(Assert.Single(diagnostics).IsSuppressed);

        // Only the lines between disable and restore.
        var elsewhere = Source.Replace("// RESTORE", "#pragma warning disable MG0102", System.StringComparison.Ordinal);
        var (outside, _) = Run(elsewhere, ReportDiagnostic.Warn);
        Assert.False(Assert.Single(outside).IsSuppressed);
    }
}
