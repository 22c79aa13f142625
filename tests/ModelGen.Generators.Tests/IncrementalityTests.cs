using System.Collections;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace ModelGen.Generators.Tests;

public class IncrementalityTests
{
    private static readonly string[] Steps =
    {
        TrackingNames.Models, TrackingNames.Layers, TrackingNames.ModelUnits, TrackingNames.LayerUnits,
        TrackingNames.ModelDiagnostics, TrackingNames.LayerDiagnostics,
    };

    [Fact]
    public void An_unrelated_edit_leaves_every_step_cached()
    {
        var compilation = GeneratorHarness.Compile(Cases.Source("ModelWithStackTiedFrozen"), "namespace Other; public class Unrelated { }");
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);

        var edited = compilation.ReplaceSyntaxTree(
            compilation.SyntaxTrees.Last(),
            CSharpSyntaxTree.ParseText("namespace Other; public class Unrelated { public int X; }", GeneratorHarness.ParseOptions, path: "User1.cs"));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        foreach (var step in Steps)
        {
            var outputs = result.TrackedSteps[step].SelectMany(s => s.Outputs).ToList();
            Assert.NotEmpty(outputs);
            Assert.All(outputs, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{step}: {o.Reason}"));
        }
        // Code outputs are cached; only the reporting of diagnostics re-runs, paired with the new compilation so that their locations
        // are in its trees (#pragma applies).
        var outputSteps = result.TrackedOutputSteps.SelectMany(s => s.Value).ToList();
        var codeOutputs = outputSteps.Where(s => s.Inputs.Any(i => i.Source.Name is TrackingNames.ModelUnits or TrackingNames.LayerUnits)).ToList();
        Assert.NotEmpty(codeOutputs);
        Assert.All(codeOutputs.SelectMany(s => s.Outputs), o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
        Assert.All(outputSteps.Except(codeOutputs), s => Assert.Contains(s.Inputs, i => i.Source.Name is TrackingNames.ModelDiagnosticsReported or TrackingNames.LayerDiagnosticsReported));
    }

    [Fact]
    public void An_unrelated_edit_beside_an_invalid_class_regenerates_nothing_and_reports_its_error_again()
    {
        const string source = """
            using ModelGen; using TorchSharp.Modules; using static TorchSharp.torch;
            namespace Demo;
            public sealed record Cfg { public int Hidden { get; init; } = 64; }
            [Layer(typeof(Cfg))]
            public partial class Bad
            {
                [Linear(nameof(Cfg.Hidden), "Missing")] partial Linear Up { get; }
                Tensor Forward(Tensor x) => Up.call(x);
            }
            """;
        var compilation = GeneratorHarness.Compile(source, "namespace Other; public class Unrelated { }");
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        var edited = compilation.ReplaceSyntaxTree(
            compilation.SyntaxTrees.Last(),
            CSharpSyntaxTree.ParseText("namespace Other; public class Unrelated { public int X; }", GeneratorHarness.ParseOptions, path: "User1.cs"));
        var run = driver.RunGenerators(edited).GetRunResult();
        var result = run.Results.Single();

        Assert.Contains(TrackingNames.Layers, result.TrackedSteps.Keys);
        foreach (var step in Steps.Where(result.TrackedSteps.ContainsKey))
            Assert.All(result.TrackedSteps[step].SelectMany(s => s.Outputs), o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{step}: {o.Reason}"));
        var error = Assert.Single(run.Diagnostics, d => d.Id == "MG0102");
        Assert.Equal(LocationKind.SourceFile, error.Location.Kind);
        Assert.Same(edited.SyntaxTrees.First(), error.Location.SourceTree);
    }

    [Fact]
    public void Editing_a_layer_regenerates_only_that_layer()
    {
        var layerSource = Cases.Source("LinearPlain");
        var compilation = GeneratorHarness.Compile(layerSource, Cases.All["LiteralSizesAndStateName"].Insert(0, "using ModelGen; using TorchSharp.Modules; using static TorchSharp.torch; namespace Demo;\n"));
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);

        var edited = compilation.ReplaceSyntaxTree(
            compilation.SyntaxTrees.First(),
            CSharpSyntaxTree.ParseText(layerSource.Replace("Bias = false", "Bias = true"), GeneratorHarness.ParseOptions, path: "User0.cs"));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();
        var reasons = result.TrackedSteps[TrackingNames.Layers].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
        Assert.Contains(IncrementalStepRunReason.Modified, reasons);
        Assert.Contains(IncrementalStepRunReason.Unchanged, reasons);
    }

    [Fact]
    public void Editing_a_layer_leaves_the_model_that_uses_it_unchanged()
    {
        // The model's generated code names the layer's type, not its sizes: a new size regenerates the layer's file only.
        var source = Cases.Source("ModelWithStackTiedFrozen");
        var compilation = GeneratorHarness.Compile(source);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        var edited = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.Single(),
            CSharpSyntaxTree.ParseText(source.Replace("[FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn))]", "[FeedForward(nameof(Cfg.Hidden), 96)]", System.StringComparison.Ordinal), GeneratorHarness.ParseOptions, path: "User0.cs"));
        Assert.NotEqual(source, edited.SyntaxTrees.Single().ToString());
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        var layers = result.TrackedSteps[TrackingNames.LayerUnits].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
        var models = result.TrackedSteps[TrackingNames.ModelUnits].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
        Assert.Equal(1, layers.Count(r => r == IncrementalStepRunReason.Modified));
        Assert.Contains(layers, r => r is IncrementalStepRunReason.Unchanged or IncrementalStepRunReason.Cached);
        Assert.All(models, r => Assert.True(r is IncrementalStepRunReason.Unchanged or IncrementalStepRunReason.Cached, r.ToString()));
    }

    [Fact]
    public void No_step_output_holds_a_compilation_symbol_or_syntax_node()
    {
        var compilation = GeneratorHarness.Compile(Cases.Source("ModelWithStackTiedFrozen"));
        var result = GeneratorHarness.CreateDriver().RunGenerators(compilation).GetRunResult().Results.Single();
        foreach (var step in Steps)
        {
            foreach (var output in result.TrackedSteps[step].SelectMany(s => s.Outputs))
                AssertNoRoslynObjects(output.Value, step, depth: 0);
        }
    }

    private static void AssertNoRoslynObjects(object? value, string path, int depth)
    {
        if (value is null || depth > 12 || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum)
            return;
        Assert.False(value is Compilation or ISymbol or SyntaxNode or SemanticModel or Location, $"{path} holds a {value.GetType().Name}");
        if (value is IEnumerable sequence)
        {
            var i = 0;
            foreach (var item in sequence)
                AssertNoRoslynObjects(item, $"{path}[{i++}]", depth + 1);
            return;
        }
        foreach (var property in value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0))
        {
            if (property.Name == "EqualityContract")
                continue;
            AssertNoRoslynObjects(property.GetValue(value), $"{path}.{property.Name}", depth + 1);
        }
    }
}
