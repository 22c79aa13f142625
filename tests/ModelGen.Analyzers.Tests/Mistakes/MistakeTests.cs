using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using ModelGen.Analyzers.Tests.Infrastructure;
using ModelGen.Generators;

namespace ModelGen.Analyzers.Tests.Mistakes
{
    /// <summary>
    /// Every deliberate mistake, in process: the generator and both analyzers run as in a build, and the errors and warnings must be
    /// exactly the marked ones, at the marked lines, with nothing from generated code. (ModelGen.Package.Tests builds the same files
    /// with the real <c>dotnet build</c>; this is the fast check that says which file is wrong.)
    /// </summary>
    public sealed class MistakeTests
    {
        public static IEnumerable<object[]> Names => MistakeFile.All().Select(m => new object[] { m.Group, m.Name });

        [Fact]
        public void There_are_at_least_seventy_mistakes_and_each_expects_something_or_is_a_valid_edge_case()
        {
            var all = MistakeFile.All();
            Assert.True(all.Count(m => m.Expected().Any(e => e.Contains("MG", System.StringComparison.Ordinal))) >= 70,
                $"{all.Count} mistake files, too few with an MG expectation");
        }

        [Theory]
        [MemberData(nameof(Names))]
        public async Task Reports_exactly_the_marked_diagnostics(string group, string name)
        {
            var mistake = MistakeFile.Load(group, System.IO.Path.Combine(MistakeFile.Folder, group, name + ".cs"));
            var reported = await Diagnose(mistake.Text);
            // As the package test reads dotnet build: every error, and ModelGen's warnings.
            var actual = reported
                .Where(d => d.Severity == DiagnosticSeverity.Error || (d.Severity == DiagnosticSeverity.Warning && d.Id.StartsWith("MG", System.StringComparison.Ordinal)))
                .Select(d => $"{d.Location.GetLineSpan().StartLinePosition.Line + 1}: {d.Id}")
                .Distinct().OrderBy(s => s, System.StringComparer.Ordinal).ToList();
            var detail = string.Join("\n", reported.Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(d => d.ToString()));
            Assert.True(mistake.Expected().SequenceEqual(actual),
                $"{mistake.Title}\nexpected: {string.Join(", ", mistake.Expected())}\nactual:   {string.Join(", ", actual)}\n{detail}");
            Assert.DoesNotContain(reported, d => d.Severity >= DiagnosticSeverity.Warning
                && d.Location.SourceTree?.FilePath.EndsWith(".g.cs", System.StringComparison.Ordinal) == true);
        }

        /// <summary>Generator diagnostics, the output compilation's compiler diagnostics, and the analyzers' on it.</summary>
        internal static async Task<IReadOnlyList<Diagnostic>> Diagnose(string source)
        {
            var parse = new CSharpParseOptions(LanguageVersion.Latest);
            var compilation = CSharpCompilation.Create("Consumer", new[] { CSharpSyntaxTree.ParseText(source, parse, path: "Mistake.cs") }, TestReferences.All,
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, warningLevel: 9999));
            CSharpGeneratorDriver.Create(new[] { new ModelGenGenerator().AsSourceGenerator() }, parseOptions: parse)
                .RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
            var analyzers = ImmutableArray.Create<DiagnosticAnalyzer>(new LayerAnalyzer(), new BudgetAnalyzer(), new Analyzers.ForwardAnalysis.ForwardAnalyzer(), new Analyzers.Checks.GatheredLogitsAnalyzer());
            var analyzerDiagnostics = await output.WithAnalyzers(analyzers).GetAnalyzerDiagnosticsAsync();
            return generatorDiagnostics.Concat(output.GetDiagnostics()).Concat(analyzerDiagnostics).ToList();
        }
    }
}
