using System.Linq;
using ModelGen.Analyzers.Checks;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Tests
{
    /// <summary>Budget values and tensor-parallel divisibility as pure functions.</summary>
    public sealed class SpecChecksScenarioTests
    {
        private static readonly ScenarioSpec Valid = new(24, Workload.Training, 2048, 1, Optimizer.AdamW);

        private static string Messages(ScenarioSpec scenario) =>
            string.Join("\n", SpecChecks.CheckScenario("Llama", scenario).Select(f => f.Id + ": " + f.Message));

        [Fact]
        public void A_valid_scenario_has_no_findings()
        {
            Assert.Equal("", Messages(Valid));
            Assert.Equal("", Messages(Valid with { TensorParallel = 4, DataParallel = 8, ZeroStage = 3 }));
        }

        [Fact]
        public void Training_settings_on_an_inference_budget()
        {
            var inference = Valid with { Workload = Workload.Inference };
            string Check(ScenarioSpec scenario, params string[] named) =>
                string.Join("\n", SpecChecks.CheckInferenceSettings("Llama", scenario, named).Select(f => f.Id + ": " + f.Message));
            Assert.Equal("", Check(inference));
            Assert.Equal("", Check(Valid with { OffloadOptimizer = true }, "Optimizer"));
            Assert.Equal("MG0117: [VramBudget] on 'Llama': Optimizer = AdamW applies to training only and has no effect with Workload = Inference", Check(inference, "Optimizer"));
            Assert.Equal("MG0117: [VramBudget] on 'Llama': ZeroStage = 2 (it splits optimizer state and gradients) applies to training only and has no effect with Workload = Inference",
                Check(inference with { ZeroStage = 2, DataParallel = 2 }));
            Assert.Equal("", Check(inference with { ZeroStage = 3, DataParallel = 2 }));
        }

        [Fact]
        public void Sequence_batch_and_size()
        {
            Assert.Equal("MG0116: [VramBudget] on 'Llama': SequenceLength = 0 must be at least 1", Messages(Valid with { SequenceLength = 0 }));
            Assert.Equal("MG0116: [VramBudget] on 'Llama': Batch = -1 must be at least 1", Messages(Valid with { Batch = -1 }));
            Assert.Equal("MG0116: [VramBudget] on 'Llama': the budget of -8 GB must not be negative", Messages(Valid with { Gigabytes = -8 }));
        }

        [Fact]
        public void Parallel_degrees()
        {
            Assert.Equal("MG0203: [VramBudget] on 'Llama': TensorParallel = 0 must be at least 1", Messages(Valid with { TensorParallel = 0 }));
            Assert.Equal("MG0203: [VramBudget] on 'Llama': DataParallel = -2 must be at least 1", Messages(Valid with { DataParallel = -2 }));
        }

        [Fact]
        public void Zero_stage()
        {
            Assert.Equal("MG0204: [VramBudget] on 'Llama': ZeroStage = 4 is not a ZeRO stage; use 0 (off), 1 (optimizer state), 2 (+ gradients) or 3 (+ weights)",
                Messages(Valid with { ZeroStage = 4, DataParallel = 2 }));
            Assert.Equal("MG0205: [VramBudget] on 'Llama': ZeroStage = 2 has no effect with DataParallel = 1; ZeRO splits state across data-parallel ranks",
                Messages(Valid with { ZeroStage = 2 }));
            Assert.Equal("", Messages(Valid with { ZeroStage = 2, DataParallel = 2 }));
        }

        private static ModelSpec Model(params BlockSpec[] decoderBlocks)
        {
            var forward = new ForwardSpec("Forward", "x");
            var root = new LayerSpec("Demo", "Llama", "global::Demo.Llama", "public", "global::Demo.Cfg", true,
                EquatableArray.Create<BlockSpec>(
                    new EmbeddingSpec("Embed", "embed", new Dim("Vocab", 1000), new Dim("Hidden", 64)) { Shard = ShardStyle.Vocab },
                    new StackSpec("Blocks", "blocks", Dim.Literal(2), "global::Demo.Decoder", 0)), forward);
            var decoder = new LayerSpec("Demo", "Decoder", "global::Demo.Decoder", "public", "global::Demo.Cfg", false, decoderBlocks.ToEquatableArray(), forward);
            return new ModelSpec(root, EquatableArray.Create(decoder));
        }

        private static string Sharding(ModelSpec model, int ranks) =>
            string.Join("\n", SpecChecks.CheckSharding(model, Valid with { TensorParallel = ranks }).Select(f => f.Id + ": " + f.Message));

        [Fact]
        public void Sharded_sizes_must_divide_by_the_tensor_parallel_degree()
        {
            var model = Model(
                new LinearSpec("Gate", "gate", new Dim("Hidden", 64), new Dim("Ffn", 170), false) { Shard = ShardStyle.Column },
                new LinearSpec("Down", "down", new Dim("Ffn", 170), new Dim("Hidden", 64), false) { Shard = ShardStyle.Row },
                new AttentionSpec("Attn", "attn", new Dim("Hidden", 64), new Dim("Heads", 8), new Dim("KvHeads", 1), true, false, 10000, true, false, 0) { Shard = ShardStyle.Column },
                new FeedForwardSpec("Mlp", "mlp", new Dim("Hidden", 64), Dim.Literal(100), FeedForwardActivation.Gelu, true) { Shard = ShardStyle.Column });
            Assert.Equal(string.Join("\n",
                "MG0201: With TensorParallel = 4, 'Decoder.Gate' (Column) cannot be split evenly: Out = Ffn (170) is not divisible by 4",
                "MG0201: With TensorParallel = 4, 'Decoder.Down' (Row) cannot be split evenly: In = Ffn (170) is not divisible by 4"),
                Sharding(model, 4));
            // One key/value head (MQA) is replicated on every rank, as TensorParallelAttention runs it: no KvHeads finding.
            Assert.Equal("", Sharding(model, 2));
            Assert.Equal("", Sharding(model, 1));
        }

        [Fact]
        public void Vocab_split_is_checked()
        {
            var model = Model(new LinearSpec("Gate", "gate", new Dim("Hidden", 64), new Dim("Ffn", 192), false) { Shard = ShardStyle.Column });
            Assert.Equal("MG0201: With TensorParallel = 3, 'Llama.Embed' (Vocab) cannot be split evenly: Count = Vocab (1000) is not divisible by 3", Sharding(model, 3));
            Assert.Equal("", Sharding(model, 8));
        }

        [Fact]
        public void Tensor_parallel_without_any_shard()
        {
            var forward = new ForwardSpec("Forward", "x");
            var root = new LayerSpec("Demo", "Llama", "global::Demo.Llama", "public", "global::Demo.Cfg", true,
                EquatableArray.Create<BlockSpec>(new LinearSpec("Head", "head", Dim.Literal(64), Dim.Literal(64), false)), forward);
            Assert.Equal("MG0206: [VramBudget] on 'Llama': TensorParallel = 2, but no block of the model has [Shard], so every rank holds the whole model",
                Sharding(new ModelSpec(root, EquatableArray<LayerSpec>.Empty), 2));
        }
    }
}
