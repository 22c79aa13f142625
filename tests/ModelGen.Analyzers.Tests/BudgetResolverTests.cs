using ModelGen.Analyzers.Budgets;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Tests
{
    /// <summary>Budget precedence: project GPU, attribute GB, attribute GPU, project GB, else MG0114.</summary>
    public sealed class BudgetResolverTests
    {
        private static readonly ScenarioSpec NoSize = new(0, Workload.Training, 2048, 1, Optimizer.AdamW);

        private static double? Card(string name) => name switch { "RTX 4090" => 24, "H100" => 79.6, _ => null };

        private static (ResolvedBudget? Budget, string Findings) Resolve(ScenarioSpec declared, ProjectBudget project)
        {
            var (budget, findings) = BudgetResolver.Resolve("Llama", declared, project, Card, "RTX 4090, H100");
            return (budget, string.Join("\n", System.Linq.Enumerable.Select(findings, f => f.Id + ": " + f.Message)));
        }

        [Fact]
        public void Attribute_gigabytes_win_without_a_project_gpu()
        {
            var (budget, _) = Resolve(NoSize with { Gigabytes = 16 }, new ProjectBudget(null, 40));
            Assert.Equal(16, budget!.Scenario.Gigabytes);
        }

        [Fact]
        public void Attribute_gpu_gives_the_card_memory()
        {
            var (budget, _) = Resolve(NoSize with { Gpu = "RTX 4090" }, ProjectBudget.None);
            Assert.Equal(24, budget!.Scenario.Gigabytes);
        }

        [Fact]
        public void A_project_gpu_replaces_every_card()
        {
            var (budget, _) = Resolve(NoSize with { Gigabytes = 16, Gpu = "RTX 4090" }, new ProjectBudget("H100", null));
            Assert.Equal(("H100", 79.6), (budget!.Scenario.Gpu, budget.Scenario.Gigabytes));
            Assert.Equal("project GPU", budget.Source);
        }

        [Fact]
        public void Project_gigabytes_fill_a_budget_without_size()
        {
            var (budget, _) = Resolve(NoSize, new ProjectBudget(null, 12));
            Assert.Equal(12, budget!.Scenario.Gigabytes);
        }

        [Fact]
        public void No_size_anywhere()
        {
            var (budget, findings) = Resolve(NoSize, ProjectBudget.None);
            Assert.Null(budget);
            Assert.StartsWith("MG0114: [VramBudget] on 'Llama' gives neither Gigabytes nor Gpu", findings);
        }

        [Fact]
        public void Unknown_cards_list_the_known_ones()
        {
            Assert.Equal("MG0115: 'RTX 9090' is not a GPU of the catalog; known GPUs: RTX 4090, H100", Resolve(NoSize with { Gpu = "RTX 9090" }, ProjectBudget.None).Findings);
            Assert.Equal("MG0115: 'B300' is not a GPU of the catalog; known GPUs: RTX 4090, H100", Resolve(NoSize with { Gigabytes = 8 }, new ProjectBudget("B300", null)).Findings);
        }

        [Fact]
        public void A_bad_project_gigabytes_value_is_reported_where_it_would_be_used()
        {
            Assert.Equal("MG0116: [VramBudget] on 'Llama': the project's budget of 'lots' GB is not a positive number",
                Resolve(NoSize, new ProjectBudget(null, null, "the project's budget of 'lots' GB is not a positive number")).Findings);
        }
    }
}
