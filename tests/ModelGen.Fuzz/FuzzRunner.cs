using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using ModelGen.Analyzers;
using ModelGen.Generators;

namespace ModelGen.Fuzz;

/// <summary>What went wrong with one variant (null kind: nothing did), its wall-clock time and the CPU time the process spent on it.</summary>
internal sealed record FuzzOutcome(string? Kind, string Detail, TimeSpan Elapsed, TimeSpan Cpu);

/// <summary>
/// Runs one variant through the generator and every analyzer, in process, and checks the three promises: no exception
/// (a generator exception is CS8785 in a build, an analyzer's AD0001), no hang (a per-variant time limit), and no compiler error
/// or warning (all warning waves) in generated code unless the user's own code has an error.
/// </summary>
internal static class FuzzRunner
{
    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    private static readonly Lazy<MetadataReference[]> References = new(() =>
    {
        var frameworkDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var framework = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetDirectoryName(p) == frameworkDirectory);
        var ours = new[] { typeof(ModelAttribute).Assembly.Location, typeof(DType).Assembly.Location, typeof(TorchSharp.torch).Assembly.Location };
        return framework.Concat(ours).Distinct().Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToArray();
    });

    /// <summary>
    /// Runs one variant. The limit is on the CPU time the process spends (variants run one at a time, analyzers without
    /// concurrency), so a loaded machine does not turn a slow variant into a "hang"; ten times the limit in wall-clock time is
    /// the backstop for a variant that waits instead of computing.
    /// </summary>
    public static FuzzOutcome Run(IReadOnlyList<string> files, TimeSpan cpuLimit)
    {
        var watch = Stopwatch.StartNew();
        var process = Process.GetCurrentProcess();
        var cpuStart = process.TotalProcessorTime;
        TimeSpan Cpu() { process.Refresh(); return process.TotalProcessorTime - cpuStart; }
        using var cancellation = new CancellationTokenSource();
        var task = Task.Run(() => Check(files, cancellation.Token));
        while (!task.Wait(TimeSpan.FromMilliseconds(200)))
        {
            if (Cpu() > cpuLimit || watch.Elapsed > cpuLimit * 10)
            {
                cancellation.Cancel(); // the generator and analyzers observe it; a true infinite loop would keep its thread
                return new FuzzOutcome("hang", $"no result within {cpuLimit.TotalSeconds:0} s of CPU time ({watch.Elapsed.TotalSeconds:0} s wall)", watch.Elapsed, Cpu());
            }
        }
        var (kind, detail) = task.Result;
        return new FuzzOutcome(kind, detail, watch.Elapsed, Cpu());
    }

    private static (string? Kind, string Detail) Check(IReadOnlyList<string> files, CancellationToken cancellationToken)
    {
        var trees = files.Select((text, i) => CSharpSyntaxTree.ParseText(text, ParseOptions, path: $"User{i}.cs", cancellationToken: cancellationToken)).ToArray();
        var compilation = CSharpCompilation.Create("Consumer", trees, References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, warningLevel: 9999));

        var driver = CSharpGeneratorDriver.Create(new[] { new ModelGenGenerator().AsSourceGenerator() }, parseOptions: ParseOptions)
            .RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics, cancellationToken);
        var result = driver.GetRunResult().Results.Single();
        if (result.Exception is { } thrown)
            return ("generator-exception", thrown.GetType().Name + ": " + thrown.Message);
        if (generatorDiagnostics.FirstOrDefault(d => d.Id == "CS8785") is { } crashed)
            return ("generator-exception", crashed.GetMessage());

        var exceptions = new List<string>();
        var options = new CompilationWithAnalyzersOptions(new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty),
            (exception, analyzer, _) => { lock (exceptions) exceptions.Add($"{analyzer.GetType().Name}: {exception.GetType().Name}: {exception.Message}"); },
            concurrentAnalysis: false, logAnalyzerExecutionTime: false);
        var analyzers = ImmutableArray.Create<DiagnosticAnalyzer>(new LayerAnalyzer(), new BudgetAnalyzer());
        // One pass gives the compiler's and the analyzers' diagnostics: compiling the output once, not twice.
        var all = output.WithAnalyzers(analyzers, options).GetAllDiagnosticsAsync(cancellationToken).GetAwaiter().GetResult();
        if (exceptions.Count > 0)
            return ("analyzer-exception", exceptions[0]);
        if (all.FirstOrDefault(d => d.Id == "AD0001") is { } failed)
            return ("analyzer-exception", failed.GetMessage());

        var generatedPaths = result.GeneratedSources.Select(s => s.SyntaxTree.FilePath).ToHashSet(StringComparer.Ordinal);
        var errors = all.Where(d => d.Severity == DiagnosticSeverity.Error && !d.Id.StartsWith("MG", StringComparison.Ordinal)).ToList();
        var inGenerated = errors.Where(d => d.Location.SourceTree is { } tree && generatedPaths.Contains(tree.FilePath)).ToList();
        var inUser = errors.Count - inGenerated.Count;
        if (inGenerated.Count > 0 && inUser == 0)
            return ("generated-code-error", inGenerated[0].ToString());
        // A project with TreatWarningsAsErrors turns a warning in generated code into an error the user cannot fix.
        var warning = all.FirstOrDefault(d => d.Severity == DiagnosticSeverity.Warning && d.Location.SourceTree is { } tree && generatedPaths.Contains(tree.FilePath));
        if (warning is not null && inUser == 0)
            return ("generated-code-warning", warning.ToString());
        return (null, "");
    }
}
