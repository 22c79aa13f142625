using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using ModelGen.Analyzers.Budgets;
using ModelGen.Analyzers.Tests.Mistakes;
using ModelGen.Memory;

namespace ModelGen.Analyzers.Tests.Budgets
{
    /// <summary>
    /// The loss of a vocab-parallel head (docs/tensor-parallel.md): MG0220 on a generated <c>CreateTraining</c> call that passes a
    /// loss for a plan splitting the vocabulary, with the bytes the memory model says gathering adds; <c>GatheredLogits = true</c>
    /// silences it and raises MG0001's estimate by exactly those bytes; MG0221 when the opt-in has nothing to gather.
    /// The generator runs first (the call binds to the generated factory), then every analyzer, as in a build.
    /// </summary>
    public sealed class GatheredLogitsTests
    {
        private const long Batch = 4, Sequence = 1024, Vocab = 32000, Hidden = 1024;

        private static string Source(string plan, string loss, string budget = "1") => $$"""
            using ModelGen; using ModelGen.Distributed; using ModelGen.Optimizers; using ModelGen.Training; using TorchSharp; using TorchSharp.Modules; using static TorchSharp.torch;
            namespace Gathered;
            public sealed record Cfg { public int Vocab { get; init; } = {{Vocab}}; public int Hidden { get; init; } = {{Hidden}}; public int Heads { get; init; } = 16; public int Layers { get; init; } = 2; }
            [Layer(typeof(Cfg))]
            public partial class Block
            {
                [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads)), Shard(ShardStyle.Column)] partial nn.Module<Tensor, Tensor> Attn { get; }
                Tensor Forward(Tensor x) => x + Attn.call(x);
            }
            [Model(typeof(Cfg))]
            [ParallelPlan({{plan}})]
            [VramBudget({{budget}}, SequenceLength = {{Sequence}}, Batch = {{Batch}})]
            public partial class Lm
            {
                [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden)), Shard(ShardStyle.Vocab)] partial nn.Module<Tensor, Tensor> Embed { get; }
                [Stack(nameof(Cfg.Layers))] partial ModuleList<Block> Blocks { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab), Bias = false), Shard(ShardStyle.Column)] partial nn.Module<Tensor, Tensor> Head { get; }
                Tensor Forward(Tensor tokens) { var x = Embed.call(tokens); foreach (var b in Blocks) x = b.call(x); return Head.call(x); }
            }
            public static class Training
            {
                static System.Func<Tensor, Tensor, Tensor> Ce => (output, target) => nn.functional.cross_entropy(output.flatten(0, 1), target.flatten());
                public static PlanTraining Start(ProcessGroup world, System.Func<Tensor, Tensor, Tensor>? maybe) =>
                    Lm.CreateTraining(new Cfg(), world, (p, s) => new ModelGen.Optimizers.AdamW(p, learningRate: 1e-3, settings: s){{loss}});
            }
            """;

        private static async Task<IReadOnlyList<Diagnostic>> Run(string plan, string loss, string budget = "1") =>
            (await MistakeTests.Diagnose(Source(plan, loss, budget))).Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();

        private static long Peak(IEnumerable<Diagnostic> diagnostics) =>
            long.Parse(Assert.Single(diagnostics, d => d.Id == "MG0001").Properties[BudgetProperties.PeakBytes]!, CultureInfo.InvariantCulture);

        [Fact]
        public async Task A_loss_given_to_a_plan_that_splits_the_vocabulary_is_MG0220_with_what_the_opt_in_adds_to_MG0001()
        {
            var given = await Run("TensorParallel = 2", ", loss: Ce");
            var error = Assert.Single(given, d => d.Id == "MG0220");
            Assert.Equal(DiagnosticSeverity.Error, error.Severity);
            var optedIn = await Run("TensorParallel = 2, GatheredLogits = true", ", loss: Ce");
            Assert.DoesNotContain(optedIn, d => d.Id is "MG0220" or "MG0221");
            // The opt-in makes the estimate count the gathered logits: MG0001's peak grows by what MG0220 said it would add.
            var added = Peak(optedIn) - Peak(given);
            Assert.Contains($"which adds {Gigabytes.Format(added)} per rank at the [VramBudget] scenario (batch {Batch}, sequence {Sequence})",
                error.GetMessage(CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
            Assert.Contains("'Lm.CreateTraining' is given a loss, but the [ParallelPlan] of 'Lm' splits the vocabulary over 2 tensor-parallel ranks: that loss reads all 32000 logits",
                error.GetMessage(CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
            Assert.Contains("GatheredLogits = true", error.GetMessage(CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
            // At least the gathered half of the logits in fp32 twice (the logits and the saved log-probabilities of the loss).
            var otherHalf = Batch * Sequence * (Vocab - (Vocab / 2));
            Assert.True(added >= 2 * 4 * otherHalf, $"gathering adds {added} bytes, less than the other half's logits and log-probabilities ({2 * 4 * otherHalf})");
            Assert.True(added <= 4 * 4 * Batch * Sequence * Vocab, $"gathering adds {added} bytes, more than four fp32 copies of all the logits");
        }

        [Theory]
        [InlineData("")]
        [InlineData(", loss: null")]
        [InlineData(", maybe")]
        public async Task Leaving_the_loss_out_or_passing_one_that_may_be_null_is_not_MG0220(string loss)
        {
            var diagnostics = await Run("TensorParallel = 2", loss);
            Assert.DoesNotContain(diagnostics, d => d.Id is "MG0220" or "MG0221");
        }

        [Fact]
        public async Task A_loss_at_one_tensor_parallel_rank_gathers_nothing()
        {
            var diagnostics = await Run("DataParallel = 2", ", loss: Ce");
            Assert.DoesNotContain(diagnostics, d => d.Id == "MG0220");
        }

        [Fact]
        public async Task GatheredLogits_without_tensor_parallelism_is_MG0221()
        {
            var diagnostics = await Run("DataParallel = 2, GatheredLogits = true", ", loss: Ce");
            var warning = Assert.Single(diagnostics, d => d.Id == "MG0221");
            Assert.Equal(DiagnosticSeverity.Warning, warning.Severity);
            Assert.Contains("the plan runs TensorParallel = 1", warning.GetMessage(CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
        }

        [Fact]
        public async Task A_head_tied_to_the_vocab_parallel_embedding_is_vocab_parallel_too()
        {
            var tied = Source("TensorParallel = 2", ", loss: Ce").Replace(
                "[Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab), Bias = false), Shard(ShardStyle.Column)]",
                "[Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab), Bias = false), TiedTo(nameof(Embed))]", System.StringComparison.Ordinal);
            var given = (await MistakeTests.Diagnose(tied)).Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
            Assert.Single(given, d => d.Id == "MG0220");
            var optedIn = (await MistakeTests.Diagnose(tied.Replace("TensorParallel = 2", "TensorParallel = 2, GatheredLogits = true", System.StringComparison.Ordinal)))
                .Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
            Assert.DoesNotContain(optedIn, d => d.Id is "MG0220" or "MG0221");
            // The tied head's logits are V/t per rank on the vocab-parallel loss, V when gathered.
            Assert.True(Peak(optedIn) > Peak(given), $"gathered {Peak(optedIn)} bytes, vocab-parallel {Peak(given)}");
        }

        [Fact]
        public void The_memory_model_counts_all_V_logits_per_rank_only_with_the_opt_in()
        {
            // Through the memory model directly: the estimate with GatheredLogits is the plain one plus ExtraBytes, and at one rank
            // (nothing split) the opt-in changes nothing.
            var compilation = Microsoft.CodeAnalysis.CSharp.CSharpCompilation.Create("Gathered",
                new[] { Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText(Source("TensorParallel = 2", "")) }, Infrastructure.TestReferences.All,
                new Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
            var model = Parsing.ModelSpecBuilder.Build(compilation.GetTypeByMetadataName("Gathered.Lm")!, compilation,
                new List<Diagnostics.DiagnosticInfo>(), default)!;
            var scenario = new Specs.ScenarioSpec(80, Workload.Training, Sequence, Batch, Optimizer.AdamW) { TensorParallel = 2 };
            var sliced = MemoryModel.Estimate(model, scenario).PeakBytes;
            var gathered = MemoryModel.Estimate(model, scenario with { GatheredLogits = true }).PeakBytes;
            Assert.Equal(gathered - sliced, GatheredLogits.ExtraBytes(model, scenario));
            Assert.True(gathered > sliced);
            var one = scenario with { TensorParallel = 1 };
            Assert.Equal(MemoryModel.Estimate(model, one).PeakBytes, MemoryModel.Estimate(model, one with { GatheredLogits = true }).PeakBytes);
            Assert.Equal(Vocab, GatheredLogits.Vocabulary(model.Root));
        }
    }
}
