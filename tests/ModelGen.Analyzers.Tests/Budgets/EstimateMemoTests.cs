using System;
using System.Linq;
using ModelGen.Analyzers.Budgets;
using ModelGen.Memory;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Tests.Budgets
{
    /// <summary>
    /// The budget analyzer estimates each (model, scenario) once per budget (<see cref="EstimateMemo"/>): the remedies, the fits and the
    /// catalog fit it gives are the ones computed without it, with fewer estimates.
    /// </summary>
    public sealed class EstimateMemoTests
    {
        /// <summary>A small GPT-2-shaped model (12 blocks of 768), float32, so that a 2 GB training budget is exceeded.</summary>
        private static ModelSpec Model()
        {
            static Dim D(string member, long value) => new(member, value);
            static LayerSpec Layer(string name, bool isModel, params BlockSpec[] blocks) =>
                new("Demo", name, "global::Demo." + name, "public", "global::Demo.Cfg", isModel, blocks.ToEquatableArray(), new ForwardSpec("Forward", "x"));
            var root = Layer("Gpt2", true,
                new EmbeddingSpec("Wte", "wte", D("Vocab", 50257), D("Hidden", 768)),
                new StackSpec("H", "h", D("Layers", 12), "global::Demo.Block", 0),
                new LayerNormSpec("LnF", "ln_f", D("Hidden", 768), 1e-5, true),
                new LinearSpec("LmHead", "lm_head", D("Hidden", 768), D("Vocab", 50257), false) { Head = HeadKind.LanguageModel });
            var block = Layer("Block", false,
                new LayerNormSpec("Ln1", "ln_1", D("Hidden", 768), 1e-5, true),
                new AttentionSpec("Attn", "attn", D("Hidden", 768), D("Heads", 12), D("Heads", 12), true, false, 10000, true, true, 0.1),
                new LayerNormSpec("Ln2", "ln_2", D("Hidden", 768), 1e-5, true),
                new FeedForwardSpec("Mlp", "mlp", D("Hidden", 768), D("Ffn", 3072), FeedForwardActivation.Gelu, true));
            return new ModelSpec(root, new[] { block }.ToEquatableArray());
        }

        [Fact]
        public void Remedies_and_cards_are_the_same_with_fewer_estimates()
        {
            var model = Model();
            var scenario = new ScenarioSpec(2, Workload.Training, 1024, 4, Optimizer.AdamW);
            // A budget that some single changes meet and others do not: the median of their peaks.
            var probe = Remedies.Find(model, scenario, Gigabytes.ToBytes(scenario.Gigabytes), DeviceProfile.Cuda).Select(r => r.PeakBytes).OrderBy(p => p).ToList();
            Assert.True(probe.Count >= 3);
            var budget = probe[probe.Count / 2];
            var plain = 0;
            MemoryEstimate Counted(ModelSpec m, ScenarioSpec s)
            {
                plain++;
                return MemoryModel.Estimate(m, s, DeviceProfile.Cuda);
            }
            var memo = new EstimateMemo(DeviceProfile.Cuda);

            Assert.True(Counted(model, scenario).PeakBytes > budget);
            Assert.Equal(Counted(model, scenario).PeakBytes, memo.Estimate(model, scenario).PeakBytes);
            var expected = Remedies.FindUsing(model, scenario, budget, Counted);
            var remedies = Remedies.FindUsing(model, scenario, budget, memo.Estimate);
            var expectedCards = CatalogFit.FindUsing(model, scenario, Counted);
            var cards = CatalogFit.FindUsing(model, scenario, memo.Estimate);

            Assert.NotEmpty(expected);
            Assert.Equal(expected.Select(r => (r.Kind, r.Description, r.PeakBytes, r.Fits)), remedies.Select(r => (r.Kind, r.Description, r.PeakBytes, r.Fits)));
            Assert.Equal(Remedies.Find(model, scenario, budget, DeviceProfile.Cuda).Select(r => r.Description), remedies.Select(r => r.Description));
            // Best first: those that fit, then the cheapest kind, then the larger saving (a stable order, so re-sorting keeps it).
            Assert.Equal(remedies, remedies.OrderByDescending(r => r.Fits).ThenBy(r => r.Kind).ThenByDescending(r => r.SavingBytes));
            Assert.Contains(remedies, r => r.Fits);
            Assert.Contains(remedies, r => !r.Fits);
            Assert.NotEmpty(expectedCards);
            Assert.Equal(expectedCards, cards);
            Assert.Equal(CatalogFit.Find(model, scenario), cards);
            // The declared scenario (no parallelism, so also the catalog's one-device layout) was counted four times without the
            // memo (twice above, once per search) and computed once with it; no [Shard], so no tensor-parallel layout to share.
            Assert.Equal(plain - 3, memo.Computed);
        }

        [Fact]
        public void An_estimate_that_throws_is_not_kept()
        {
            var memo = new EstimateMemo(DeviceProfile.Cuda);
            var invalid = new ScenarioSpec(2, Workload.Training, 0, 1, Optimizer.AdamW);
            Assert.ThrowsAny<ArgumentException>(() => memo.Estimate(Model(), invalid));
            Assert.ThrowsAny<ArgumentException>(() => memo.Estimate(Model(), invalid));
            Assert.Equal(0, memo.Computed);
        }
    }
}
