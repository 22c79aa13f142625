using System;
using System.Linq;
using ModelGen.Generators.Emit;

namespace ModelGen.Generators.Tests;

public class HintNameTests
{
    [Fact]
    public void Names_differing_only_in_case_namespace_nesting_or_arity_get_distinct_hint_names_ignoring_case()
    {
        var names = new[]
        {
            "Demo.Block", "Demo.BLOCK", "Demo.block", "demo.Block", "A.Block", "a.Block", "Demo.Outer+Block", "Demo.Block`1", "Demo.Block`2",
            "Demo.Block_1", "Demo.Bl_ock", "Demo.Blöck", "Demo.Block.1", "Block", "Demo.x0042lock", "Demo._0042lock",
        };
        var hints = names.Select(HintNames.For).ToList();
        Assert.Equal(hints.Count, hints.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.All(hints, h => Assert.Matches(@"^[A-Za-z0-9._]+\.g\.cs$", h));
    }

    [Fact]
    public void The_name_stays_readable()
    {
        Assert.Equal("Demo.DecoderBlock.84080.g.cs", HintNames.For("Demo.DecoderBlock"));
        Assert.StartsWith("Demo.Outer_002BBlock_00601.", HintNames.For("Demo.Outer+Block`1"), StringComparison.Ordinal);
    }

    [Fact]
    public void Two_classes_that_differ_only_in_case_both_generate()
    {
        const string source = """
            using ModelGen; using TorchSharp.Modules; using static TorchSharp.torch;
            namespace Demo;
            public sealed record Cfg { public int Hidden { get; init; } = 64; }
            [Layer(typeof(Cfg))] public partial class Block { [Linear(4, 4)] partial Linear Up { get; } Tensor Forward(Tensor x) => x; }
            [Layer(typeof(Cfg))] public partial class BLOCK { [Linear(4, 4)] partial Linear Up { get; } Tensor Forward(Tensor x) => x; }
            """;
        var (result, output) = GeneratorHarness.Run(source);
        Assert.Equal(2, result.Results.Single().GeneratedSources.Length);
        Assert.Empty(GeneratorHarness.Problems(output));
    }
}

public class DuplicateDefinitionTests
{
    [Theory]
    [InlineData("public partial class Block", "public partial class Block")]
    [InlineData("public class Block", "public class Block")]
    [InlineData("public partial class Block", "public class Block")]
    public void A_class_defined_twice_never_makes_the_generator_throw(string first, string second)
    {
        var source = $$"""
            using ModelGen; using TorchSharp.Modules; using static TorchSharp.torch;
            namespace Demo;
            public sealed record Cfg { public int Hidden { get; init; } = 64; }
            [Layer(typeof(Cfg))] {{first}} { [Linear(4, 4)] partial Linear Up { get; } Tensor Forward(Tensor x) => x; }
            [Layer(typeof(Cfg))] {{second}} { [Linear(4, 4)] partial Linear Down { get; } }
            """;
        var compilation = GeneratorHarness.Compile(source);
        var result = GeneratorHarness.CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out _, out var diagnostics).GetRunResult();
        Assert.Null(result.Results.Single().Exception);
        Assert.DoesNotContain(diagnostics, d => d.Id == "CS8785");
    }
}
