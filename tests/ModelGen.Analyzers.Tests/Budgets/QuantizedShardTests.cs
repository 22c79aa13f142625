using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using ModelGen.Analyzers.Tests.Infrastructure;

namespace ModelGen.Analyzers.Tests.Budgets
{
    /// <summary>
    /// A sharded and quantized Attention or FeedForward quantizes each rank's slice on its own (QuantizedParallelLinear): the
    /// row-parallel slice (o_proj, down_proj) holds <c>in/t</c> input features, so an int4 group or NF4 block that does not divide
    /// them is MG0212 at that degree, and the remedies and card fits never propose such a degree (docs/tensor-parallel.md).
    /// </summary>
    public class QuantizedShardTests
    {
        private static string Model(string budget, string quantize, int hidden = 256, int heads = 4) => $$"""
            public sealed record Cfg
            {
                public int Hidden { get; init; } = {{hidden}};
                public int Heads { get; init; } = {{heads}};
                public int Ffn { get; init; } = 4096;
                public int Layers { get; init; } = 8;
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
                [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads)), Shard(ShardStyle.Column), {{quantize}}] partial TorchSharp.torch.nn.Module<Tensor, Tensor> Attn { get; }
                [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn)), Shard(ShardStyle.Column), {{quantize}}] partial TorchSharp.torch.nn.Module<Tensor, Tensor> Mlp { get; }
                Tensor Forward(Tensor x) => x + Mlp.call(x + Attn.call(x));
            }
            """;

        [Fact]
        public async Task An_int4_group_that_does_not_divide_the_row_parallel_slice_is_MG0212_at_that_degree()
        {
            const string Int4 = "Quantize(QuantKind.Int4, GroupSize = 128)";
            var four = await AnalyzerRun.Diagnostics(new BudgetAnalyzer(), Model("[VramBudget(80, SequenceLength = 1024, TensorParallel = 4)]", Int4));
            var error = Assert.Single(four, d => d.Id == "MG0212");
            Assert.Equal("With TensorParallel = 4, 'Block.Attn' cannot be built sharded and quantized: o_proj is row-parallel, so each rank quantizes 64 of its 256 input features, which Int4 groups of 128 do not divide; use a degree that leaves whole groups on each rank, or a smaller GroupSize",
                error.GetMessage(CultureInfo.InvariantCulture));
            Assert.Equal(DiagnosticSeverity.Error, error.Severity);
            var two = await AnalyzerRun.Diagnostics(new BudgetAnalyzer(), Model("[VramBudget(80, SequenceLength = 1024, TensorParallel = 2)]", Int4));
            Assert.DoesNotContain(two, d => d.Id == "MG0212");
            // Int8 keeps one scale per row of each slice: any degree that divides the heads fits.
            var int8 = await AnalyzerRun.Diagnostics(new BudgetAnalyzer(), Model("[VramBudget(80, SequenceLength = 1024, TensorParallel = 4)]", "Quantize(QuantKind.Int8)"));
            Assert.DoesNotContain(int8, d => d.Id == "MG0212");
        }

        [Fact]
        public async Task A_row_parallel_quantized_Linear_and_a_feed_forward_down_proj_are_checked_the_same_way()
        {
            static string Pair(string budget) => $$"""
                public sealed record Cfg { public int Hidden { get; init; } = 256; public int Ffn { get; init; } = 256; public int Layers { get; init; } = 2; }

                [Model(typeof(Cfg))]
                {{budget}}
                public partial class Tiny
                {
                    [Stack(nameof(Cfg.Layers))] partial ModuleList<Block> Blocks { get; }
                    Tensor Forward(Tensor x) { foreach (var b in Blocks) x = b.call(x); return x; }
                }

                [Layer(typeof(Cfg))]
                public partial class Block
                {
                    [Linear(nameof(Cfg.Hidden), nameof(Cfg.Ffn)), Shard(ShardStyle.Column)] partial TorchSharp.torch.nn.Module<Tensor, Tensor> Up { get; }
                    [Linear(nameof(Cfg.Ffn), nameof(Cfg.Hidden)), Shard(ShardStyle.Row), Quantize(QuantKind.NF4, GroupSize = 128)] partial TorchSharp.torch.nn.Module<Tensor, Tensor> Down { get; }
                    [FeedForward(nameof(Cfg.Hidden), nameof(Cfg.Ffn)), Shard(ShardStyle.Column), Quantize(QuantKind.Int4, GroupSize = 128)] partial TorchSharp.torch.nn.Module<Tensor, Tensor> Mlp { get; }
                    Tensor Forward(Tensor x) => x + Down.call(Up.call(x)) + Mlp.call(x);
                }
                """;
            var four = (await AnalyzerRun.Diagnostics(new BudgetAnalyzer(), Pair("[VramBudget(80, SequenceLength = 1024, TensorParallel = 4)]")))
                .Where(d => d.Id == "MG0212").Select(d => d.GetMessage(CultureInfo.InvariantCulture)).OrderBy(m => m, System.StringComparer.Ordinal).ToList();
            Assert.Equal(2, four.Count);
            Assert.StartsWith("With TensorParallel = 4, 'Block.Down' cannot be built sharded and quantized: its weight is row-parallel, so each rank quantizes 64 of its 256 input features, which NF4 groups of 128", four[0], System.StringComparison.Ordinal);
            Assert.StartsWith("With TensorParallel = 4, 'Block.Mlp' cannot be built sharded and quantized: down_proj is row-parallel, so each rank quantizes 64 of its 256 input features, which Int4 groups of 128", four[1], System.StringComparison.Ordinal);
            var two = await AnalyzerRun.Diagnostics(new BudgetAnalyzer(), Pair("[VramBudget(80, SequenceLength = 1024, TensorParallel = 2)]"));
            Assert.DoesNotContain(two, d => d.Id == "MG0212");
        }

        [Fact]
        public async Task Tensor_parallelism_is_not_proposed_at_a_degree_whose_quantized_slices_do_not_build()
        {
            // hidden 128 with int4 groups of 128: o_proj's slice is 64 input features at degree 2, 32 at 4, 16 at 8 — no degree builds.
            const string Budget = "[VramBudget(8, SequenceLength = 8192, Batch = 16)]";
            static string Proposals(IEnumerable<Diagnostic> diagnostics) =>
                string.Join("\n", diagnostics.Where(d => d.Id is "MG0003" or "MG0004").Select(d => d.GetMessage(CultureInfo.InvariantCulture)));
            var int8 = Proposals(await AnalyzerRun.Diagnostics(new BudgetAnalyzer(), Model(Budget, "Quantize(QuantKind.Int8)", hidden: 128, heads: 2)));
            Assert.Contains("tensor parallel", int8, System.StringComparison.Ordinal);
            var int4 = Proposals(await AnalyzerRun.Diagnostics(new BudgetAnalyzer(), Model(Budget, "Quantize(QuantKind.Int4, GroupSize = 128)", hidden: 128, heads: 2)));
            Assert.NotEmpty(int4);
            Assert.DoesNotContain("tensor parallel", int4, System.StringComparison.Ordinal);
        }
    }
}
