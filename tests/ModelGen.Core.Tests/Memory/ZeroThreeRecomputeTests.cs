using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>
    /// The ZeRO-3 engine recomputes every stacked layer in backward (ZeroLayerFunction keeps only the layer's inputs), whatever
    /// [Checkpoint] says: under it the estimate's activations are those of the checkpointed model — the kept inputs plus one layer's
    /// full activations while it is recomputed — beside the gathered layer and the prefetched one, which the weights term holds
    /// (ModelStateTests).
    /// </summary>
    public class ZeroThreeRecomputeTests
    {
        private static readonly ScenarioSpec Zero3 = Training(4096, 2) with { DataParallel = 8, ZeroStage = 3 };

        private static long Activations(MemoryEstimate estimate, string phase) =>
            estimate.Phases.Single(p => p.Phase == phase).Terms.Single(t => t.Name == MemoryTerms.Activations).Bytes;

        [Theory]
        [InlineData(0)]   // no checkpoint declared
        [InlineData(4)]   // [Checkpoint(Every = 4)]: three instances in four would keep everything without the engine
        public void Under_the_engine_an_undeclared_stack_is_estimated_as_the_checkpointed_one_it_runs_as(int every)
        {
            var declared = MemoryModel.Estimate(Llama3_8B(every: every), Zero3);
            var checkpointed = MemoryModel.Estimate(Llama3_8B(checkpoint: CheckpointMode.Full), Zero3);
            Assert.Equal(checkpointed.PeakBytes, declared.PeakBytes);
            foreach (var phase in new[] { MemoryPhases.Forward, MemoryPhases.Backward })
                Assert.Equal(Activations(checkpointed, phase), Activations(declared, phase));
            Assert.All(declared.Layers.Where(l => l.Path == "Llama.Blocks"), l => Assert.Equal(l.Count, l.CheckpointedCount));

            // A stack that already checkpoints every instance is estimated as before: the engine's rule changes nothing there.
            // (Per layer: a phase's activations term is taken at that phase's peak, which moves with the ZeRO stage's other terms.)
            var zero2 = MemoryModel.Estimate(Llama3_8B(checkpoint: CheckpointMode.Full), Zero3 with { ZeroStage = 2 });
            Assert.Equal(zero2.Layers.Select(l => (l.Path, l.ActivationBytes, l.CheckpointedCount)), checkpointed.Layers.Select(l => (l.Path, l.ActivationBytes, l.CheckpointedCount)));

            // Without the engine (ZeRO-2, or stage 3 over one rank, which PlanTraining runs as a plain model) the declaration holds,
            // and keeps more: the test can tell the two apart.
            foreach (var plain in new[] { Zero3 with { ZeroStage = 2 }, Zero3 with { DataParallel = 1 } })
                Assert.True(MemoryModel.Estimate(Llama3_8B(every: every), plain).PeakBytes > MemoryModel.Estimate(Llama3_8B(checkpoint: CheckpointMode.Full), plain).PeakBytes);
        }
    }
}
