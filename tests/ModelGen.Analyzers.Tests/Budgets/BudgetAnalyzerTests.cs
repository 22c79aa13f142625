using System.Threading.Tasks;
using ModelGen.Analyzers.Tests.Infrastructure;

namespace ModelGen.Analyzers.Tests.Budgets
{
    /// <summary>Budget diagnostics at the [VramBudget] attribute, with {|id:…|} markup.</summary>
    public sealed class BudgetAnalyzerTests
    {
        /// <summary>The optional companions, switched off where a test is about something else.</summary>
        /// <remarks>The test framework switches on every supported diagnostic, MG0002 too; BudgetMessageTests checks the real defaults.</remarks>
        private static readonly string[] Companions = { "MG0002", "MG0003", "MG0004", "MG0005" };

        private static Task Verify(string source, string? editorConfig = null, string? globalConfig = null, params string[] disabled)
        {
            var test = new AnalyzerTest<BudgetAnalyzer>(source);
            test.DisabledDiagnostics.AddRange(disabled);
            if (editorConfig is not null)
                test.TestState.AnalyzerConfigFiles.Add(("/.editorconfig", "root = true\n[*.cs]\n" + editorConfig));
            if (globalConfig is not null)
                test.TestState.AnalyzerConfigFiles.Add(("/.globalconfig", "is_global = true\n" + globalConfig));
            return test.RunAsync();
        }

        [Fact]
        public Task Llama_8B_training_at_8192_on_24_GB_warns() => Verify(LlamaSource.Model(
            "[{|MG0001:VramBudget(24, SequenceLength = 8192, Batch = 1, Workload = Workload.Training, Optimizer = Optimizer.AdamW)|}]"), disabled: Companions);

        [Fact]
        public Task Llama_8B_inference_at_8192_on_24_GB_fits_and_says_nothing() => Verify(LlamaSource.Model(
            "[VramBudget(24, SequenceLength = 8192, Batch = 1, Workload = Workload.Inference)]"), disabled: Companions);

        [Fact]
        public Task Each_budget_is_checked_on_its_own_attribute() => Verify(LlamaSource.Model("""
            [{|MG0001:VramBudget(24, SequenceLength = 8192)|}]
            [VramBudget(24, SequenceLength = 8192, Workload = Workload.Inference)]
            """), disabled: Companions);

        [Fact]
        public Task The_fit_report_is_off_by_default_and_switched_on_in_editorconfig() => Verify(
            TinySource.Model("[{|MG0002:VramBudget(Gpu = \"H100\", SequenceLength = 4096, Batch = 4)|}]"),
            editorConfig: "dotnet_diagnostic.MG0002.severity = suggestion", disabled: "MG0004");

        [Fact]
        public Task Remedies_and_cards_are_reported_beside_the_warning() => Verify(
            TinySource.Model("[{|MG0001:{|MG0003:{|MG0004:VramBudget(30, SequenceLength = 4096, Batch = 4)|}|}|}]"), disabled: "MG0002");

        [Fact]
        public Task No_single_remedy() => Verify(LlamaSource.Model(
            "[{|MG0001:{|MG0005:VramBudget(24, SequenceLength = 32768)|}|}]"), disabled: new[] { "MG0002", "MG0004" });

        [Fact]
        public Task A_project_gpu_from_editorconfig_replaces_the_card() => Verify(LlamaSource.Model(
            "[{|MG0001:VramBudget(Gpu = \"RTX 4090\", SequenceLength = 8192, Workload = Workload.Inference)|}]"),
            editorConfig: "modelgen_budget_gpu = RTX 3060", disabled: Companions);

        [Fact]
        public Task Project_gigabytes_from_msbuild_size_a_budget_without_one() => Verify(LlamaSource.Model(
            "[VramBudget(SequenceLength = 8192, Workload = Workload.Inference)]"),
            globalConfig: "build_property.ModelGenBudgetGigabytes = 24", disabled: Companions);

        [Fact]
        public Task A_budget_without_size() => Verify(LlamaSource.Model(
            "[{|MG0114:VramBudget(SequenceLength = 8192, Workload = Workload.Inference)|}]"));

        [Fact]
        public Task An_unknown_gpu() => Verify(LlamaSource.Model(
            "[{|MG0115:VramBudget(Gpu = \"RTX 9090\", Workload = Workload.Inference)|}]"));

        [Fact]
        public Task A_bad_scenario_value() => Verify(LlamaSource.Model(
            "[{|MG0116:VramBudget(24, SequenceLength = 0)|}]"));

        [Fact]
        public Task Training_settings_on_an_inference_budget() => Verify(LlamaSource.Model(
            "[{|MG0117:{|MG0117:VramBudget(24, Workload = Workload.Inference, Optimizer = Optimizer.Sgd, OffloadOptimizer = true)|}|}]"), disabled: Companions);

        [Fact]
        public Task Sharded_sizes_must_divide_by_the_tensor_parallel_degree() => Verify(TinySource.Model(
            "[{|MG0201:{|MG0201:{|MG0201:VramBudget(80, SequenceLength = 1024, TensorParallel = 3)|}|}|}]"));

        [Fact]
        public Task Tensor_parallel_without_shards_and_zero_without_ranks_warn_but_still_check() => Verify(LlamaSource.Model(
            "[{|MG0206:{|MG0205:VramBudget(24, SequenceLength = 8192, Workload = Workload.Inference, TensorParallel = 2, ZeroStage = 3)|}|}]"), disabled: Companions);

        [Fact]
        public Task Parallel_degrees_and_zero_stage_out_of_range() => Verify(LlamaSource.Model(
            "[{|MG0203:{|MG0204:VramBudget(24, DataParallel = 0, ZeroStage = 4)|}|}]"));
    }
}
