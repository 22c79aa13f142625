using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace ModelGen.Analyzers.Tests.Infrastructure
{
    /// <summary>Runs an analyzer over a source and returns its diagnostics, for tests that read messages and properties.</summary>
    internal static class AnalyzerRun
    {
        /// <summary>The diagnostics <paramref name="analyzer"/> reports on <paramref name="source"/>, with the given diagnostic options (e.g. MG0002 on).</summary>
        public static async Task<IReadOnlyList<Diagnostic>> Diagnostics(DiagnosticAnalyzer analyzer, string source, params (string Id, ReportDiagnostic Value)[] options)
        {
            var tree = CSharpSyntaxTree.ParseText(Sources.Usings + source, new CSharpParseOptions(LanguageVersion.Preview));
            var compilationOptions = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable)
                .WithSpecificDiagnosticOptions(options.Select(o => new KeyValuePair<string, ReportDiagnostic>(o.Id, o.Value)));
            var compilation = CSharpCompilation.Create("Test", new[] { tree }, TestReferences.All, compilationOptions);
            var diagnostics = await compilation.WithAnalyzers(ImmutableArray.Create(analyzer)).GetAnalyzerDiagnosticsAsync();
            return diagnostics.OrderBy(d => d.Location.SourceSpan.Start).ThenBy(d => d.Id).ToList();
        }
    }
}
