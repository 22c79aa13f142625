using System.Threading.Tasks;
using ModelGen.Analyzers.Tests.Infrastructure;
using ModelGen.CodeFixes;

namespace ModelGen.Analyzers.Tests.Budgets
{
    /// <summary>
    /// The MG0001 code fix applies the cheapest remedy that fits by editing attributes only; after the fix the budget fits, so the
    /// fixed source has no MG0001 (the verifier checks that too).
    /// </summary>
    public sealed class ApplyRemedyCodeFixTests
    {
        private static readonly string[] Companions = { "MG0002", "MG0003", "MG0004", "MG0005" };

        private static Task Verify(string source, string fixedSource)
        {
            var test = new CodeFixTest<BudgetAnalyzer, ApplyRemedyCodeFix>(source, fixedSource);
            test.DisabledDiagnostics.AddRange(Companions);
            return test.RunAsync();
        }

        [Fact]
        public Task Selective_checkpointing_is_added_to_the_layer_class() => Verify(
            TinySource.Model("[{|MG0001:VramBudget(30, SequenceLength = 4096, Batch = 4)|}]"),
            TinySource.Model("[VramBudget(30, SequenceLength = 4096, Batch = 4)]", blockAttributes: "[Layer(typeof(Cfg)), Checkpoint(CheckpointMode.Selective)]"));

        [Fact]
        public Task A_stack_gets_checkpoint_when_the_layer_is_already_selective() => Verify(
            TinySource.Model("[{|MG0001:VramBudget(15.5, SequenceLength = 4096, Batch = 4)|}]", blockAttributes: "[Layer(typeof(Cfg)), Checkpoint(CheckpointMode.Selective)]"),
            TinySource.Model("[VramBudget(15.5, SequenceLength = 4096, Batch = 4)]", blockAttributes: "[Layer(typeof(Cfg)), Checkpoint(CheckpointMode.Selective)]",
                stackAttributes: "[Stack(nameof(Cfg.Layers)), Checkpoint]"));

        [Fact]
        public Task An_every_argument_on_the_stack_is_dropped_so_every_repeat_is_checkpointed() => Verify(
            TinySource.Model("[{|MG0001:VramBudget(15, SequenceLength = 4096, Batch = 4)|}]", blockAttributes: "[Layer(typeof(Cfg)), Checkpoint(CheckpointMode.Selective)]",
                stackAttributes: "[Stack(nameof(Cfg.Layers)), Checkpoint(Every = 4)]"),
            TinySource.Model("[VramBudget(15, SequenceLength = 4096, Batch = 4)]", blockAttributes: "[Layer(typeof(Cfg)), Checkpoint(CheckpointMode.Selective)]",
                stackAttributes: "[Stack(nameof(Cfg.Layers)), Checkpoint]"));

        [Fact]
        public Task Inference_halves_the_batch_on_the_budget() => Verify(
            TinySource.Model("[{|MG0001:VramBudget(30, SequenceLength = 4096, Batch = 16, Workload = Workload.Inference)|}]"),
            TinySource.Model("[VramBudget(30, SequenceLength = 4096, Batch = 8, Workload = Workload.Inference)]"));

        [Fact]
        public Task Linear_blocks_declared_as_modules_are_quantized() => Verify(Wide("{|MG0001:VramBudget(6, SequenceLength = 16, Workload = Workload.Inference)|}", ""),
            Wide("VramBudget(6, SequenceLength = 16, Workload = Workload.Inference)", ", Quantize(QuantKind.Int8)"));

        /// <summary>32 layers of two 8192×8192 bf16 Linear blocks (8 GB of weights), declared as modules so a QuantizedLinear fits them.</summary>
        private static string Wide(string budget, string quantize) => $$"""
            public sealed record Cfg { public int Width { get; init; } = 8192; public int Layers { get; init; } = 32; }

            [Model(typeof(Cfg)), Precision(DType.BFloat16)]
            [{{budget}}]
            public partial class Wide
            {
                [Stack(nameof(Cfg.Layers))] partial ModuleList<Pair> Blocks { get; }
                Tensor Forward(Tensor x) => x;
            }

            [Layer(typeof(Cfg))]
            public partial class Pair
            {
                [Linear(nameof(Cfg.Width), nameof(Cfg.Width), Bias = false){{quantize}}] partial nn.Module<Tensor, Tensor> Up { get; }
                [Linear(nameof(Cfg.Width), nameof(Cfg.Width), Bias = false){{quantize}}] partial nn.Module<Tensor, Tensor> Down { get; }
                Tensor Forward(Tensor x) => Down.call(Up.call(x));
            }
            """;
    }
}
