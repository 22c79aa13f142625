using System.Linq;
using Microsoft.CodeAnalysis;
using ModelGen.Parsing;
using ModelGen.Specs;

namespace ModelGen.Generators.Tests;

public class ParserTests
{
    private static LayerParse Parse(string source, string typeName)
    {
        var compilation = GeneratorHarness.Compile(source);
        var type = compilation.GetTypeByMetadataName(typeName)!;
        return LayerParser.Parse(type, compilation, default);
    }

    [Theory]
    [MemberData(nameof(SnapshotTests.CaseNames), MemberType = typeof(SnapshotTests))]
    public void Every_case_parses_without_diagnostics(string name)
    {
        var compilation = GeneratorHarness.Compile(Cases.Source(name));
        var classes = compilation.SyntaxTrees.SelectMany(t => t.GetRoot().DescendantNodes())
            .OfType<Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax>()
            .Select(c => (INamedTypeSymbol)compilation.GetSemanticModel(c.SyntaxTree).GetDeclaredSymbol(c)!)
            .Where(t => t.GetAttributes().Any(a => a.AttributeClass?.Name is "LayerAttribute" or "ModelAttribute"));
        foreach (var type in classes)
        {
            var parse = LayerParser.Parse(type, compilation, default);
            Assert.True(parse.Diagnostics.Count == 0, string.Join("\n", parse.Diagnostics.Select(d => d.Id + " " + string.Join(" | ", d.Arguments))));
            Assert.NotNull(parse.Spec);
        }
    }

    [Fact]
    public void Config_defaults_are_evaluated_including_arithmetic_and_consts()
    {
        var spec = Parse(Cases.Source("LinearPlain"), "Demo.Mlp").Spec!;
        var up = Assert.IsType<LinearSpec>(spec.Blocks[0]);
        Assert.Equal(new Dim("Hidden", 64), up.In);
        Assert.Equal(new Dim("Ffn", 256), up.Out);
        Assert.True(up.Bias);
        Assert.False(Assert.IsType<LinearSpec>(spec.Blocks[1]).Bias);
    }

    [Fact]
    public void Positional_record_defaults_are_read()
    {
        var spec = Parse(Cases.Source("GlobalNamespacePositionalConfig"), "GlobalMlp").Spec!;
        var up = Assert.IsType<LinearSpec>(spec.Blocks[0]);
        Assert.Equal(32, up.In.Value);
        Assert.Equal(64, up.Out.Value);
        Assert.Equal("", spec.Namespace);
    }

    [Fact]
    public void State_names_default_to_snake_case_and_can_be_overridden()
    {
        Assert.Equal("attn_norm", Naming.ToSnakeCase("AttnNorm"));
        Assert.Equal("lm_head", Naming.ToSnakeCase("LMHead"));
        Assert.Equal("ln_f", Naming.ToSnakeCase("LnF"));
        Assert.Equal("h", Naming.ToSnakeCase("H"));
        Assert.Equal("layer2_norm", Naming.ToSnakeCase("Layer2Norm"));
        var spec = Parse(Cases.Source("LiteralSizesAndStateName"), "Demo.Proj").Spec!;
        Assert.Equal("c_proj", spec.Blocks[0].StateName);
        Assert.Equal(Dim.Literal(64), ((LinearSpec)spec.Blocks[0]).In);
    }

    [Fact]
    public void Policies_are_read_from_attributes()
    {
        var spec = Parse(Cases.Source("ModelWithStackTiedFrozen"), "Demo.Gpt").Spec!;
        Assert.True(spec.IsModel);
        Assert.Equal(DType.BFloat16, spec.Precision);
        Assert.True(spec.Blocks.Single(b => b.Name == "Wpe").Frozen);
        Assert.Equal("Wte", spec.Blocks.Single(b => b.Name == "LMHead").TiedTo);
        var stack = Assert.IsType<StackSpec>(spec.Blocks.Single(b => b.Name == "H"));
        Assert.Equal(2, stack.CheckpointEvery);
        Assert.Equal("global::Demo.GptBlock", stack.LayerType);
        var budget = Assert.Single(spec.Budgets);
        Assert.Equal(new ScenarioSpec(24, Workload.Training, 1024, 1, Optimizer.AdamW), budget);

        var quant = Parse(Cases.Source("Quantized"), "Demo.QuantMlp").Spec!;
        Assert.Equal(new QuantSpec(QuantKind.Int8, 0, false), quant.Blocks[0].Quant);
        Assert.Equal(new QuantSpec(QuantKind.Int4, 64, false), quant.Blocks[1].Quant);
        Assert.Equal(new QuantSpec(QuantKind.NF4, 64, true), quant.Blocks[2].Quant);
    }

    [Fact]
    public void Model_spec_collects_every_reachable_layer_once()
    {
        var compilation = GeneratorHarness.Compile(Cases.Source("ModelWithStackTiedFrozen"));
        var diagnostics = new System.Collections.Generic.List<ModelGen.Diagnostics.DiagnosticInfo>();
        var model = ModelSpecBuilder.Build(compilation.GetTypeByMetadataName("Demo.Gpt")!, compilation, diagnostics, default);
        Assert.Empty(diagnostics);
        Assert.NotNull(model);
        Assert.Equal(new[] { "GptBlock", "Proj" }, model!.Layers.Select(l => l.Name).OrderBy(n => n));
    }
}
