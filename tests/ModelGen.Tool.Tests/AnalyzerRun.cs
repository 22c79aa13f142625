using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using ModelGen.Analyzers;

namespace ModelGen.Tool.Tests;

/// <summary>
/// Runs ModelGen's real BudgetAnalyzer over a sample's model sources, as the compiler does in `dotnet build`, with MG0002–MG0004
/// switched on, so the tool's output can be compared with what the analyzers report.
/// </summary>
internal static class AnalyzerRun
{
    public static IReadOnlyList<Diagnostic> BudgetDiagnostics(params string[] sampleFiles)
    {
        var trees = sampleFiles.Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(Path.Combine(ToolRun.Repository, f)), new CSharpParseOptions(LanguageVersion.Preview), f));
        var options = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable)
            .WithSpecificDiagnosticOptions(new[] { "MG0002", "MG0003", "MG0004", "MG0005" }.Select(id => new KeyValuePair<string, ReportDiagnostic>(id, ReportDiagnostic.Warn)));
        var compilation = CSharpCompilation.Create("Sample", trees, References(), options);
        var diagnostics = compilation.WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new BudgetAnalyzer())).GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();
        return diagnostics.OrderBy(d => d.Location.SourceSpan.Start).ThenBy(d => d.Id).ToList();
    }

    private static IEnumerable<MetadataReference> References()
    {
        var frameworkDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var trusted = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        return trusted.Where(path => Path.GetDirectoryName(path) == frameworkDirectory)
            .Concat(new[] { typeof(ModelAttribute).Assembly.Location, typeof(DType).Assembly.Location, typeof(TorchSharp.torch).Assembly.Location })
            .Distinct()
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path));
    }
}
