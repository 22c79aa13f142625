using System.Linq;

namespace ModelGen.Generators.Tests;

/// <summary>
/// [ParallelPlan]: its own generated file (the plan as constants, the training factory), approved as a snapshot and compiled
/// without warnings; the module file and its budgets carry the plan's values; a class the generator does not generate gets no plan file.
/// </summary>
public class PlanSnapshotTests
{
    private const string Source = """
        [Layer(typeof(Cfg))]
        public partial class PlanBlock
        {
            [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads), KvHeads = nameof(Cfg.KvHeads)), Shard(ShardStyle.Column)] public partial Attention Attn { get; }
            [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn)), Shard(ShardStyle.Column)] public partial FeedForward Mlp { get; }
            private Tensor Forward(Tensor x) => x + Mlp.call(x + Attn.call(x));
        }

        [Model(typeof(Cfg))]
        [ParallelPlan(TensorParallel = 2, DataParallel = 2, ZeroStage = 1, SequenceParallel = true)]
        [VramBudget(24, SequenceLength = 128, Batch = 2)]
        public partial class PlannedModel
        {
            [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden)), Shard(ShardStyle.Vocab)] public partial Embedding Embed { get; }
            [Stack(nameof(Cfg.Layers))] public partial ModuleList<PlanBlock> Blocks { get; }
            private Tensor Forward(Tensor tokens)
            {
                var x = Embed.call(tokens);
                foreach (var block in Blocks)
                    x = block.call(x);
                return x;
            }
        }
        """;

    [Fact]
    public void The_plan_file_matches_its_snapshot_and_compiles()
    {
        var (result, output) = GeneratorHarness.Run(Cases.Usings + Source);
        var sources = result.Results.Single().GeneratedSources;
        var plan = Assert.Single(sources, s => s.HintName.Contains("60Plan", System.StringComparison.Ordinal));
        Snapshot.Match("PlannedModel.Plan", plan.SourceText.ToString());
        var problems = GeneratorHarness.Problems(output);
        if (problems.Count > 0)
            Assert.Fail(string.Join("\n", problems));
        // The budget in the module's description is the plan's scenario: what the analyzers estimated.
        var model = sources.Single(s => s.HintName.StartsWith("Demo.PlannedModel.", System.StringComparison.Ordinal)
            && !s.HintName.Contains(".Inference.", System.StringComparison.Ordinal)).SourceText.ToString(); // a decoder also gets its KV-cache file
        Assert.Contains("TensorParallel = 2", model, System.StringComparison.Ordinal);
        Assert.Contains("ZeroStage = 1", model, System.StringComparison.Ordinal);
        Assert.Contains("SequenceParallel = true", model, System.StringComparison.Ordinal);
    }

    [Fact]
    public void A_plan_on_a_class_that_is_not_partial_writes_nothing()
    {
        var source = Cases.Usings + """
            [Model(typeof(Cfg))]
            [ParallelPlan(DataParallel = 2)]
            public class NotPartial
            {
                private Tensor Forward(Tensor x) => x;
            }
            """;
        var (result, _) = GeneratorHarness.Run(source);
        Assert.DoesNotContain(result.Results.Single().GeneratedSources, s => s.HintName.Contains("60Plan", System.StringComparison.Ordinal));
    }

    /// <summary>
    /// Classes the module generator writes no constructor for (their parse gives the MG id): a plan file would call a constructor
    /// that does not exist (found by the fuzzer: CS1729 for a model renamed <c>forward</c>).
    /// </summary>
    [Theory]
    [InlineData("public partial class forward")] // named like a generated member (MG0105)
    [InlineData("public partial record PlannedRecord")] // a record (MG0105)
    [InlineData("public partial class WithBase : System.IO.MemoryStream")] // a base of its own (MG0105)
    public void A_plan_on_a_class_the_generator_cannot_build_writes_nothing_and_compiles(string declaration)
    {
        var source = Cases.Usings + """
            [Model(typeof(Cfg))]
            [ParallelPlan(DataParallel = 2)]
            """ + "\n" + declaration + """

            {
                private Tensor Forward(Tensor x) => x;
            }
            """;
        var (result, output, diagnostics) = RunAllowingDiagnostics(source);
        Assert.Contains(diagnostics, d => d.Id == "MG0108");
        Assert.DoesNotContain(result.Results.Single().GeneratedSources, s => s.HintName.Contains("60Plan", System.StringComparison.Ordinal));
        Assert.DoesNotContain(GeneratorHarness.Problems(output), p => p.Contains("CS1729", System.StringComparison.Ordinal));
    }

    [Fact]
    public void A_plan_on_a_model_whose_config_is_not_a_record_or_class_writes_nothing()
    {
        var source = Cases.Usings + """
            [Model(typeof(int))]
            [ParallelPlan(DataParallel = 2)]
            public partial class IntConfigured
            {
                private Tensor Forward(Tensor x) => x;
            }
            """;
        var (result, output, diagnostics) = RunAllowingDiagnostics(source);
        Assert.NotEmpty(diagnostics);
        Assert.DoesNotContain(result.Results.Single().GeneratedSources, s => s.HintName.Contains("60Plan", System.StringComparison.Ordinal));
        Assert.DoesNotContain(GeneratorHarness.Problems(output), p => p.Contains("CS1729", System.StringComparison.Ordinal));
    }

    private static (Microsoft.CodeAnalysis.GeneratorDriverRunResult Result, Microsoft.CodeAnalysis.Compilation Output,
        System.Collections.Immutable.ImmutableArray<Microsoft.CodeAnalysis.Diagnostic> Diagnostics) RunAllowingDiagnostics(string source)
    {
        var driver = GeneratorHarness.CreateDriver().RunGeneratorsAndUpdateCompilation(GeneratorHarness.Compile(source), out var output, out var diagnostics);
        return (driver.GetRunResult(), output, diagnostics);
    }
}
