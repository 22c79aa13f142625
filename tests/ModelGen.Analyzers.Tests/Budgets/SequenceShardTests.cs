using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using ModelGen.Analyzers.Tests.Infrastructure;

namespace ModelGen.Analyzers.Tests.Budgets
{
    /// <summary>
    /// Tensor-parallel plans the generated code cannot run as estimated (docs/tensor-parallel.md): MG0209 for a [Dropout] declared
    /// as TorchSharp's Dropout on sequence shards, MG0210 for a sequence the degree does not divide under sequence parallelism,
    /// MG0211 for an inference budget estimated with sequence parallelism (cached decoding runs whole sequences).
    /// </summary>
    public class SequenceShardTests
    {
        private static string Model(string budget, string dropoutType = "TorchSharp.torch.nn.Module<Tensor, Tensor>") => $$"""
            public sealed record Cfg
            {
                public int Hidden { get; init; } = 1024;
                public int Layers { get; init; } = 4;
                public int Heads { get; init; } = 16;
                public int Ffn { get; init; } = 4096;
            }

            [Model(typeof(Cfg))]
            [Precision(DType.BFloat16)]
            {{budget}}
            public partial class Tiny
            {
                [Stack(nameof(Cfg.Layers))] partial ModuleList<Block> Blocks { get; }
                Tensor Forward(Tensor x) { foreach (var b in Blocks) x = b.call(x); return x; }
            }

            [Layer(typeof(Cfg))]
            public partial class Block
            {
                [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads)), Shard(ShardStyle.Column)] partial TorchSharp.torch.nn.Module<Tensor, Tensor> Attn { get; }
                [Dropout(0.1)] partial {{dropoutType}} Drop { get; }
                Tensor Forward(Tensor x) => x + Drop.call(Attn.call(x));
            }
            """;

        private static Task<System.Collections.Generic.IReadOnlyList<Microsoft.CodeAnalysis.Diagnostic>> Run(string source) =>
            AnalyzerRun.Diagnostics(new BudgetAnalyzer(), source);

        [Fact]
        public async Task A_dropout_declared_as_Dropout_is_MG0209_only_with_sequence_parallelism()
        {
            const string Dropout = "TorchSharp.Modules.Dropout";
            var plain = await Run(Model("[VramBudget(80, SequenceLength = 1024, TensorParallel = 2)]", Dropout));
            Assert.DoesNotContain(plain, d => d.Id is "MG0208" or "MG0209");
            var sequence = await Run(Model("[VramBudget(80, SequenceLength = 1024, TensorParallel = 2, SequenceParallel = true)]", Dropout));
            var error = Assert.Single(sequence, d => d.Id == "MG0209");
            Assert.Contains("'Block.Drop' cannot run: it draws its mask on sequence shards from each rank's own stream as ParallelDropout, which a Dropout property cannot hold",
                error.GetMessage(CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
            var module = await Run(Model("[VramBudget(80, SequenceLength = 1024, TensorParallel = 2, SequenceParallel = true)]"));
            Assert.DoesNotContain(module, d => d.Id is "MG0209" or "MG0210" or "MG0211");
        }

        [Fact]
        public async Task A_sequence_the_degree_does_not_divide_is_MG0210_under_sequence_parallelism()
        {
            var uneven = await Run(Model("[VramBudget(80, SequenceLength = 1023, TensorParallel = 2, SequenceParallel = true)]"));
            var error = Assert.Single(uneven, d => d.Id == "MG0210");
            Assert.Equal(Microsoft.CodeAnalysis.DiagnosticSeverity.Error, error.Severity);
            Assert.Equal("With SequenceParallel at TensorParallel = 2, the [VramBudget] on 'Tiny' has sequence length 1023, which is not divisible by 2: every rank holds an equal sequence shard; use a multiple of 2",
                error.GetMessage(CultureInfo.InvariantCulture));
            var whole = await Run(Model("[VramBudget(80, SequenceLength = 1023, TensorParallel = 2)]"));
            Assert.DoesNotContain(whole, d => d.Id == "MG0210");
        }

        [Fact]
        public async Task An_inference_budget_with_sequence_parallelism_is_MG0211()
        {
            var decoding = await Run(Model("[VramBudget(80, SequenceLength = 1024, Workload = Workload.Inference, TensorParallel = 2, SequenceParallel = true)]"));
            var warning = Assert.Single(decoding, d => d.Id == "MG0211");
            Assert.Equal(Microsoft.CodeAnalysis.DiagnosticSeverity.Warning, warning.Severity);
            Assert.Contains("build it for generation with sequenceParallel: false", warning.GetMessage(CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
            var plain = await Run(Model("[VramBudget(80, SequenceLength = 1024, Workload = Workload.Inference, TensorParallel = 2)]"));
            Assert.DoesNotContain(plain, d => d.Id == "MG0211");
        }
    }
}
