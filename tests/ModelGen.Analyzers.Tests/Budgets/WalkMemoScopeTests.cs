using System;
using System.Linq;
using System.Reflection;
using ModelGen.Analyzers.Budgets;
using ModelGen.Memory;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Tests.Budgets
{
    /// <summary>
    /// The budget analyzer's sublayer walks are remembered for one budget's evaluation only (<see cref="EstimateMemo.Walks"/>): they are
    /// replayed within it, never shared with another evaluation, and no static field of the analyzers holds them.
    /// </summary>
    public sealed class WalkMemoScopeTests
    {
        /// <summary>Eight distinct decoder layers used once each, bf16: every layer is a remedy candidate.</summary>
        private static ModelSpec Model()
        {
            static Dim D(string member, long value) => new(member, value);
            static LayerSpec Layer(string name, bool isModel, params BlockSpec[] blocks) =>
                new("Demo", name, "global::Demo." + name, "public", "global::Demo.Cfg", isModel, blocks.ToEquatableArray(), new ForwardSpec("Forward", "x"));
            var layers = Enumerable.Range(0, 8).Select(i => Layer("Decoder" + i, false,
                new RmsNormSpec("AttnNorm", "input_layernorm", D("Hidden", 1024), 1e-5),
                new AttentionSpec("Attn", "self_attn", D("Hidden", 1024), D("Heads", 16), D("KvHeads", 4), true, true, 10000, false, false, 0),
                new RmsNormSpec("MlpNorm", "post_attention_layernorm", D("Hidden", 1024), 1e-5),
                new FeedForwardSpec("Mlp", "mlp", D("Hidden", 1024), D("Ffn", 2816), FeedForwardActivation.SwiGlu, false))).ToArray();
            var root = Layer("Deep", true, layers.Select((l, i) => (BlockSpec)new LayerRefSpec("Block" + i, "block" + i, l.FullName))
                .Prepend(new EmbeddingSpec("Embed", "embed", D("Vocab", 32000), D("Hidden", 1024)))
                .Append(new LinearSpec("Head", "head", D("Hidden", 1024), D("Vocab", 32000), false) { Head = HeadKind.LanguageModel }).ToArray())
                with { Precision = DType.BFloat16 };
            return new ModelSpec(root, layers.ToEquatableArray());
        }

        [Fact]
        public void An_evaluation_replays_its_own_walks_and_a_new_one_starts_empty()
        {
            var model = Model();
            var scenario = new ScenarioSpec(4, Workload.Training, 2048, 1, Optimizer.AdamW);
            var budget = Gigabytes.ToBytes(scenario.Gigabytes);
            var memo = new EstimateMemo(DeviceProfile.Cuda);

            var remedies = Remedies.FindUsing(model, scenario, budget, memo.Estimate);

            Assert.Equal(Remedies.FindUsing(model, scenario, budget, (m, s) => MemoryModel.Estimate(m, s, DeviceProfile.Cuda)).Select(r => (r.Description, r.PeakBytes, r.Fits)),
                remedies.Select(r => (r.Description, r.PeakBytes, r.Fits)));
            Assert.True(memo.Walks.Replayed > memo.Walks.Walked, $"{memo.Walks.Walked} walked, {memo.Walks.Replayed} replayed");
            var next = new EstimateMemo(DeviceProfile.Cuda);
            Assert.Equal(0, next.Walks.Walked + next.Walks.Replayed + next.Walks.Kept);
            next.Estimate(model, scenario);
            Assert.Equal(8, next.Walks.Walked); // walked afresh: nothing carried over from the first evaluation
        }

        [Fact]
        public void No_static_field_of_the_analyzers_holds_estimates_or_walks()
        {
            var held = new[] { typeof(WalkMemo), typeof(EstimateMemo), typeof(MemoryEstimate) };
            var offending = typeof(EstimateMemo).Assembly.GetTypes()
                .SelectMany(t => t.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                .Where(f => !typeof(Delegate).IsAssignableFrom(f.FieldType) && held.Any(h => Mentions(f.FieldType, h)))
                .Select(f => f.DeclaringType!.FullName + "." + f.Name)
                .ToList();
            Assert.Empty(offending);
        }

        private static bool Mentions(Type type, Type target) =>
            type == target || (type.IsArray && Mentions(type.GetElementType()!, target)) || (type.IsGenericType && type.GetGenericArguments().Any(a => Mentions(a, target)));
    }
}
