using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using ModelGen.Analyzers.Tests.Infrastructure;

namespace ModelGen.Analyzers.Tests.Budgets
{
    /// <summary>
    /// MG0208 and MG0209 say at compile time what the generated tensor-parallel constructor would refuse, and the remedies and card
    /// fits propose tensor parallelism only for a model whose sharded blocks it builds (docs/tensor-parallel.md).
    /// </summary>
    public class ShardedConstructionTests
    {
        private static string Model(string budget, string attentionType, string norm = "") => $$"""
            public sealed record Cfg
            {
                public int Vocab { get; init; } = 32000;
                public int Hidden { get; init; } = 1024;
                public int Layers { get; init; } = 8;
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
                {{norm}}
                [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads), Fused = false), Shard(ShardStyle.Column)] partial {{attentionType}} Attn { get; }
                [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn)), Shard(ShardStyle.Column)] partial TorchSharp.torch.nn.Module<Tensor, Tensor> Mlp { get; }
                Tensor Forward(Tensor x) => x + Mlp.call(x + Attn.call(x));
            }
            """;

        private const string ModuleType = "TorchSharp.torch.nn.Module<Tensor, Tensor>";

        [Fact]
        public async Task A_sharded_block_declared_as_its_plain_type_is_MG0208_at_a_degree_above_1()
        {
            var diagnostics = await AnalyzerRun.Diagnostics(new BudgetAnalyzer(), Model("[VramBudget(80, SequenceLength = 1024, TensorParallel = 2)]", "ModelGen.Nn.Attention"));
            var error = Assert.Single(diagnostics, d => d.Id == "MG0208");
            Assert.Equal("With TensorParallel = 2, 'Block.Attn' cannot be built sharded: it is declared as Attention, which its ModelGen.Parallel module (TensorParallelAttention) is not: declare the property as Module<Tensor, Tensor>",
                error.GetMessage(CultureInfo.InvariantCulture));
            var single = await AnalyzerRun.Diagnostics(new BudgetAnalyzer(), Model("[VramBudget(80, SequenceLength = 1024)]", "ModelGen.Nn.Attention"));
            Assert.DoesNotContain(single, d => d.Id == "MG0208");
        }

        [Fact]
        public async Task A_norm_declared_as_RmsNorm_is_MG0209_only_with_sequence_parallelism()
        {
            const string Norm = "[RmsNorm(nameof(Cfg.Hidden))] partial ModelGen.Nn.RmsNorm Norm { get; }";
            var plain = await AnalyzerRun.Diagnostics(new BudgetAnalyzer(), Model("[VramBudget(80, SequenceLength = 1024, TensorParallel = 2)]", ModuleType, Norm));
            Assert.DoesNotContain(plain, d => d.Id is "MG0208" or "MG0209");
            var sequence = await AnalyzerRun.Diagnostics(new BudgetAnalyzer(), Model("[VramBudget(80, SequenceLength = 1024, TensorParallel = 2, SequenceParallel = true)]", ModuleType, Norm));
            var error = Assert.Single(sequence, d => d.Id == "MG0209");
            Assert.Contains("'Block.Norm' cannot run: it runs on sequence shards as ParallelRmsNorm", error.GetMessage(CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
        }

        [Fact]
        public async Task Tensor_parallelism_is_proposed_only_where_the_generated_constructor_splits_every_sharded_block()
        {
            const string Budget = "[VramBudget(24, SequenceLength = 8192, Batch = 4)]";
            string Proposals(System.Collections.Generic.IEnumerable<Microsoft.CodeAnalysis.Diagnostic> diagnostics) =>
                string.Join("\n", diagnostics.Where(d => d.Id is "MG0003" or "MG0004").Select(d => d.GetMessage(CultureInfo.InvariantCulture)));
            var splits = Proposals(await AnalyzerRun.Diagnostics(new BudgetAnalyzer(), Model(Budget, ModuleType)));
            Assert.Contains("tensor parallel", splits, System.StringComparison.Ordinal);
            var whole = Proposals(await AnalyzerRun.Diagnostics(new BudgetAnalyzer(), Model(Budget, "ModelGen.Nn.Attention")));
            Assert.NotEmpty(whole);
            Assert.DoesNotContain("tensor parallel", whole, System.StringComparison.Ordinal);
        }
    }
}
