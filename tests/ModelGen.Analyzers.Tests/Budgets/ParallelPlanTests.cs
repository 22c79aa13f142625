using System.Linq;
using System.Threading.Tasks;
using ModelGen.Analyzers.Checks;
using ModelGen.Analyzers.Tests.Infrastructure;
using ModelGen.CodeFixes;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Tests.Budgets
{
    /// <summary>
    /// [ParallelPlan] on the model: every budget is estimated with the plan's parallel settings, a budget that says otherwise is
    /// MG0207, and the parallel remedies' code fix edits the plan.
    /// </summary>
    public sealed class ParallelPlanTests
    {
        private static readonly string[] Companions = { "MG0002", "MG0003", "MG0004", "MG0005" };

        private static Task Verify(string source)
        {
            var test = new AnalyzerTest<BudgetAnalyzer>(source);
            test.DisabledDiagnostics.AddRange(Companions);
            return test.RunAsync();
        }

        [Fact]
        public Task The_plan_degree_is_the_degree_the_budget_checks() => Verify(TinySource.Model(
            "[ParallelPlan(TensorParallel = 3)]\n[{|MG0201:{|MG0201:{|MG0201:VramBudget(80, SequenceLength = 1024)|}|}|}]"));

        [Fact]
        public Task A_budget_repeating_the_plan_value_agrees_with_it() => Verify(TinySource.Model(
            "[ParallelPlan(TensorParallel = 3)]\n[{|MG0201:{|MG0201:{|MG0201:VramBudget(80, SequenceLength = 1024, TensorParallel = 3)|}|}|}]"));

        [Fact]
        public Task A_budget_with_other_parallel_values_describes_a_program_that_does_not_run() => Verify(TinySource.Model(
            "[ParallelPlan(TensorParallel = 2, DataParallel = 2, ZeroStage = 1)]\n[{|MG0207:VramBudget(80, SequenceLength = 1024, TensorParallel = 4, ZeroStage = 1, OffloadParameters = true)|}]"));

        [Fact]
        public Task Without_a_plan_the_same_budget_is_fixed_with_zero_stage_3_on_the_budget()
        {
            var test = new CodeFixTest<BudgetAnalyzer, ApplyRemedyCodeFix>(
                TinySource.Model("[{|MG0001:VramBudget(1.55, SequenceLength = 16, DataParallel = 8)|}]"),
                TinySource.Model("[VramBudget(1.55, SequenceLength = 16, DataParallel = 8, ZeroStage = 3)]"));
            test.DisabledDiagnostics.AddRange(Companions);
            return test.RunAsync();
        }

        [Fact]
        public Task Plan_values_out_of_range_are_reported_at_each_budget() => Verify(LlamaSource.Model(
            "[ParallelPlan(DataParallel = 0, ZeroStage = 4)]\n[{|MG0203:{|MG0204:VramBudget(24)|}|}]"));

        [Fact]
        public Task An_inference_budget_takes_no_optimizer_settings_from_the_plan() => Verify(LlamaSource.Model(
            "[ParallelPlan(DataParallel = 2, ZeroStage = 1, OffloadOptimizer = true)]\n[VramBudget(24, SequenceLength = 8192, Workload = Workload.Inference)]"));

        [Fact]
        public void Key_value_heads_fewer_than_ranks_are_replicated_when_the_degree_is_a_multiple()
        {
            static string Check(int kvHeads, int ranks)
            {
                var attention = new AttentionSpec("Attn", "attn", new Dim("Hidden", 96), new Dim("Heads", 12), new Dim("KvHeads", kvHeads), true, false, 10000, true, false, 0)
                    { Shard = ShardStyle.Column };
                var root = new LayerSpec("Demo", "Gqa", "global::Demo.Gqa", "public", "global::Demo.Cfg", true,
                    EquatableArray.Create<BlockSpec>(attention), new ForwardSpec("Forward", "x"));
                var scenario = new ScenarioSpec(24, Workload.Training, 128, 1, Optimizer.AdamW) { TensorParallel = ranks };
                return string.Join("\n", SpecChecks.CheckSharding(new ModelSpec(root, EquatableArray<LayerSpec>.Empty), scenario).Select(f => f.Id));
            }
            Assert.Equal("", Check(kvHeads: 2, ranks: 4)); // one head per rank, each on 2 ranks
            Assert.Equal("", Check(kvHeads: 1, ranks: 4));
            Assert.Equal("", Check(kvHeads: 4, ranks: 4));
            Assert.Equal("MG0201", Check(kvHeads: 3, ranks: 4)); // 4 is neither a multiple nor a divisor of 3
            Assert.Equal("MG0201", Check(kvHeads: 6, ranks: 4));
        }

        /// <summary>
        /// Without a plan, ZeRO stage 3 is the cheapest change that fits this budget; with one the fix writes it on the plan, since the
        /// generated CreateTraining runs stage 3 (its layers route through the ZeRO-3 engine).
        /// </summary>
        [Fact]
        public Task The_remedy_edits_the_plan_and_is_one_the_generated_training_runs()
        {
            var test = new CodeFixTest<BudgetAnalyzer, ApplyRemedyCodeFix>(
                TinySource.Model("[ParallelPlan(DataParallel = 8)]\n[{|MG0001:VramBudget(1.55, SequenceLength = 16)|}]"),
                TinySource.Model("[ParallelPlan(DataParallel = 8, ZeroStage = 3)]\n[VramBudget(1.55, SequenceLength = 16)]"));
            test.DisabledDiagnostics.AddRange(Companions);
            return test.RunAsync();
        }
    }
}
