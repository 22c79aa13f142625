using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>
    /// Plain data parallelism (ZeRO stage 0, Nd &gt; 1) runs through DistributedDataParallel, whose gradients are views of flat
    /// buckets that stay allocated for the whole step (PyTorch's gradient_as_bucket_view): the gradients' bytes are on the device
    /// in the forward too, and the 16-bit ones stay in the buckets after the optimizer has folded and released them.
    /// </summary>
    public class DataParallelBucketTests
    {
        private const long Psi = 2 * 1024 * 1024;

        private static ModelSpec TwoLinears() => Model(Layer("Mlp", true,
            new LinearSpec("Up", "up", D("Hidden", 1024), D("Hidden", 1024), false),
            new LinearSpec("Down", "down", D("Hidden", 1024), D("Hidden", 1024), false)) with { Precision = DType.BFloat16 });

        private static ModelStates States(int dataParallel, int stage, bool offload = false)
        {
            var walk = ModelWalk.Run(TwoLinears(), new Pass(1, 16, 16, 1, true, DeviceProfile.Cuda), false);
            var scenario = Training(16) with { DataParallel = dataParallel, ZeroStage = stage, OffloadOptimizer = offload };
            return ModelStates.Of(walk, scenario, LargestTrainableTensor.Elements(TwoLinears(), 1));
        }

        [Fact]
        public void Buckets_hold_every_gradient_through_the_step_only_without_zero()
        {
            Assert.Equal(2 * Psi, States(2, 0).BucketGradients);          // bf16 gradients: 2 bytes × Ψ
            Assert.Equal(2 * Psi, States(2, 0).BucketAfterFold);          // all 16-bit: released by the optimizer, kept by the bucket
            Assert.Equal(2 * Psi, States(2, 0, offload: true).BucketAfterFold);
            Assert.Equal(0, States(1, 0).BucketGradients);                // one rank: no DDP
            Assert.Equal(0, States(2, 1).BucketGradients);                // ZeRO 1/2: the optimizer reduces, no buckets
            Assert.Equal(0, States(2, 2).BucketAfterFold);
        }

        [Fact]
        public void The_forward_phase_of_plain_data_parallel_counts_the_buckets()
        {
            var single = MemoryModel.Estimate(TwoLinears(), Training(16), DeviceProfile.Cuda);
            var ddp = MemoryModel.Estimate(TwoLinears(), Training(16) with { DataParallel = 2 }, DeviceProfile.Cuda);
            long Gradients(MemoryEstimate e, string phase) => e.Phases.Single(p => p.Phase == phase).Terms.Single(t => t.Name == MemoryTerms.Gradients).Bytes;
            Assert.Equal(0, Gradients(single, MemoryPhases.Forward));
            Assert.Equal(2 * Psi, Gradients(ddp, MemoryPhases.Forward));
            // After the fold: fp32 main gradients (4Ψ) at stage 0, plus the buckets' 2Ψ under DDP.
            Assert.Equal(Gradients(single, MemoryPhases.OptimizerStep) + (2 * Psi), Gradients(ddp, MemoryPhases.OptimizerStep));
            Assert.True(ddp.PeakBytes > single.PeakBytes);
        }
    }
}
