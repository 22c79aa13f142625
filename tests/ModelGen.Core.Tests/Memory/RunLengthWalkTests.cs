using System.Collections.Generic;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>
    /// A [Stack]'s instances are one run in the memory model's walk (Step.Body × Count), visited at its first and last repetition.
    /// The same model written with one [Sublayer] per instance is walked step by step: both must give the same bytes in every phase.
    /// </summary>
    public class RunLengthWalkTests
    {
        private static LayerSpec Block(string name, CheckpointMode checkpoint) => Layer(name, false,
            new RmsNormSpec("AttnNorm", "attn_norm", D("Hidden", 256), 1e-5),
            new AttentionSpec("Attn", "attn", D("Hidden", 256), D("Heads", 8), D("KvHeads", 2), true, true, 10000, false, true, 0.1),
            new DropoutSpec("Drop", "drop", 0.1),
            new RmsNormSpec("MlpNorm", "mlp_norm", D("Hidden", 256), 1e-5),
            new FeedForwardSpec("Mlp", "mlp", D("Hidden", 256), D("Ffn", 704), FeedForwardActivation.SwiGlu, false)) with { Checkpoint = checkpoint };

        private static LayerSpec Root(params BlockSpec[] middle) => Layer("Net", true,
            new BlockSpec[] { new EmbeddingSpec("Embed", "embed", D("Vocab", 1000), D("Hidden", 256)) }
                .Concat(middle)
                .Concat(new BlockSpec[]
                {
                    new RmsNormSpec("Norm", "norm", D("Hidden", 256), 1e-5),
                    new LinearSpec("Head", "head", D("Hidden", 256), D("Vocab", 1000), false),
                }).ToArray()) with { Precision = DType.BFloat16 };

        private static ModelSpec Stacked(long count, int every, CheckpointMode checkpoint) =>
            Model(Root(new StackSpec("Blocks", "blocks", D("Layers", count), "global::Demo.Block", every)), Block("Block", checkpoint));

        /// <summary>The same model with one sublayer per instance; instance i checkpointed as the stack would checkpoint it.</summary>
        private static ModelSpec Unrolled(long count, int every, CheckpointMode checkpoint)
        {
            var plain = Block("Block", every > 0 ? CheckpointMode.None : checkpoint);
            var full = Block("BlockC", CheckpointMode.Full);
            var references = Enumerable.Range(0, (int)count)
                .Select(i => (BlockSpec)new LayerRefSpec($"B{i}", $"b{i}", every > 0 && i % every == 0 ? full.FullName : plain.FullName))
                .ToArray();
            return Model(Root(references), plain, full);
        }

        private static IEnumerable<ScenarioSpec> Scenarios() => new[]
        {
            Training(512, 2), Training(512, 2, Optimizer.Sgd), Inference(512, 2),
            Training(512, 2) with { DataParallel = 2 }, Training(512, 2) with { TensorParallel = 2 },
        };

        [Theory]
        [InlineData(1, 0, CheckpointMode.None)]
        [InlineData(7, 0, CheckpointMode.None)]
        [InlineData(7, 0, CheckpointMode.Full)]
        [InlineData(7, 0, CheckpointMode.Selective)]
        [InlineData(7, 1, CheckpointMode.None)]
        [InlineData(7, 3, CheckpointMode.None)]
        [InlineData(9, 3, CheckpointMode.None)]
        [InlineData(2, 3, CheckpointMode.None)]
        [InlineData(12, 5, CheckpointMode.None)]
        public void A_stack_sizes_exactly_like_its_instances_written_out(long count, int every, CheckpointMode checkpoint)
        {
            foreach (var scenario in Scenarios())
            {
                var stacked = MemoryModel.Estimate(Stacked(count, every, checkpoint), scenario);
                var unrolled = MemoryModel.Estimate(Unrolled(count, every, checkpoint), scenario);
                Assert.Equal(unrolled.Phases, stacked.Phases, new PhaseComparer());
                Assert.Equal(unrolled.PeakBytes, stacked.PeakBytes);
                Assert.Equal(unrolled.ParameterCount, stacked.ParameterCount);
            }
        }

        [Fact]
        public void Nested_stacks_size_exactly_like_their_instances_written_out()
        {
            var inner = Block("Block", CheckpointMode.None);
            var group = Layer("Group", false, new StackSpec("Inner", "inner", D("InnerLayers", 3), inner.FullName, 2));
            var stacked = Model(Root(new StackSpec("Groups", "groups", D("Layers", 4), group.FullName, 0)), group, inner);

            var full = Block("BlockC", CheckpointMode.Full);
            var unrolledGroup = Layer("Group", false,
                new LayerRefSpec("I0", "i0", full.FullName), new LayerRefSpec("I1", "i1", inner.FullName), new LayerRefSpec("I2", "i2", full.FullName));
            var unrolled = Model(Root(Enumerable.Range(0, 4).Select(i => (BlockSpec)new LayerRefSpec($"G{i}", $"g{i}", unrolledGroup.FullName)).ToArray()),
                unrolledGroup, inner, full);
            foreach (var scenario in Scenarios())
                Assert.Equal(MemoryModel.Estimate(unrolled, scenario).Phases, MemoryModel.Estimate(stacked, scenario).Phases, new PhaseComparer());
        }

        [Theory]
        [InlineData(0, CheckpointMode.None)]
        [InlineData(0, CheckpointMode.Full)]
        [InlineData(4, CheckpointMode.None)]
        public void A_million_layer_stack_is_sized_for_training_by_arithmetic_in_a_bounded_walk(int every, CheckpointMode checkpoint)
        {
            const long Million = 1_000_000;
            // Inference walks one step per instance (what the dispose scopes hold depends on each instance's place), so there a
            // million instances is still MG0006 rather than a walk of millions of steps.
            Assert.Throws<ModelTooLargeException>(() => MemoryModel.Estimate(Stacked(Million, every, checkpoint), Inference(512, 2)));
            foreach (var scenario in Scenarios().Where(s => s.Workload == Workload.Training))
            {
                var model = Stacked(Million, every, checkpoint);
                var training = scenario.Workload == Workload.Training;
                var pass = new Pass(scenario.Batch, scenario.SequenceLength, scenario.SequenceLength, scenario.TensorParallel, training, DeviceProfile.Cuda);
                var walk = ModelWalk.Run(model, pass, sequenceParallel: false);
                var states = ModelStates.Of(walk, scenario, training ? LargestTrainableTensor.Elements(model, scenario.TensorParallel) : 0);
                var points = Phases.Training(walk, states, pass);

                // The walk's cost does not grow with the count: a few dozen steps created and visited, not millions.
                Assert.InRange(walk.StepsCreated, 1, 40);
                Assert.InRange(walk.StepsVisited, 1, 120);

                // Every term is linear in the count once the count is large: a million equals the straight line through two
                // stacks a period apart (checked at a third), phase by phase, before the allocator margin (a rounded percentage).
                var period = every == 0 ? 1L : every;
                var counts = new[] { 1000L, 1000 + period, 1000 + (2 * period), Million };
                var totals = counts.Select(n => Totals(MemoryModel.Estimate(n == Million ? model : Stacked(n, every, checkpoint), scenario))).ToList();
                var parameters = counts.Select(n => MemoryModel.Estimate(n == Million ? model : Stacked(n, every, checkpoint), scenario).ParameterCount).ToList();
                for (var phase = 0; phase < totals[0].Length; phase++)
                {
                    var slope = totals[1][phase] - totals[0][phase];
                    Assert.Equal(slope, totals[2][phase] - totals[1][phase]);
                    Assert.Equal(totals[0][phase] + ((Million - 1000) / period * slope), totals[3][phase]);
                }
                Assert.Equal(parameters[0] + ((Million - 1000) / period * (parameters[1] - parameters[0])), parameters[3]);
                Assert.Equal(points.Max(p => p.Point.Total), totals[3].Max());
            }
        }

        private static long[] Totals(MemoryEstimate estimate) =>
            estimate.Phases.Select(p => p.Terms.Where(t => t.Name != MemoryTerms.Overhead).Sum(t => t.Bytes)).ToArray();

        private sealed class PhaseComparer : IEqualityComparer<PhasePeak>
        {
            public bool Equals(PhasePeak? x, PhasePeak? y) =>
                x is not null && y is not null && x.Phase == y.Phase && x.PeakBytes == y.PeakBytes && x.Terms.SequenceEqual(y.Terms);

            public int GetHashCode(PhasePeak obj) => obj.PeakBytes.GetHashCode();
        }
    }
}
