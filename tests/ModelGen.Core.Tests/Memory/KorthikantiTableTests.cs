using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>
    /// Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models", Table 2: bytes of 16-bit
    /// activations per GPT layer (eager attention with dropout, two output dropouts, GELU MLP of width 4h, pre-LN), computed here
    /// from the paper's equations and compared with the memory model's per-layer saved bytes. The only term the paper leaves out
    /// is layer_norm's fp32 mean and rstd (2 norms · 2 · 4 · s·b bytes, split along the sequence by sequence parallelism):
    /// 1/(2h) of the 34·s·b·h term, named and added explicitly.
    /// </summary>
    public class KorthikantiTableTests
    {
        private const long S = 2048, B = 2, H = 1024, A = 16;

        /// <summary>The paper's per-layer bytes for one row of Table 2; <paramref name="t"/> = 1 is the no-parallelism row.</summary>
        private static double Paper(string row, long t)
        {
            double s = S, b = B, h = H, a = A;
            var sbh = s * b * h;
            return row switch
            {
                "none" => sbh * (34 + (5 * a * s / h)),
                "tensor" => sbh * (10 + (24.0 / t) + (5 * a * s / (h * t))),
                "tensor+sequence" => sbh * ((34.0 / t) + (5 * a * s / (h * t))),
                "tensor+selective" => sbh * (10 + (24.0 / t)),
                "tensor+sequence+selective" => sbh * (34.0 / t),
                "full" => sbh * 2,
                _ => throw new System.ArgumentException(row),
            };
        }

        /// <summary>layer_norm's saved fp32 statistics for the layer's two norms: not in the paper.</summary>
        private static long NormStatistics(bool sequenceParallel, int t) => 2 * 2 * 4 * S * B / (sequenceParallel ? t : 1);

        private static ModelSpec Gpt(CheckpointMode checkpoint, bool shard)
        {
            var root = Models.Layer("Gpt", true, new StackSpec("H", "h", D("Layers", 4), "global::Demo.GptBlock", 0)) with { Precision = DType.BFloat16 };
            return Model(root, GptBlock(H, A, shard: shard, checkpoint: checkpoint));
        }

        private static long PerLayer(CheckpointMode checkpoint, int t, bool sequenceParallel)
        {
            var model = Gpt(checkpoint, shard: t > 1);
            if (checkpoint == CheckpointMode.Full)
            {
                // A fully checkpointed layer keeps its input: what each step of the walk keeps.
                var walk = ModelWalk.Run(model, new Pass(B, S, S, t, true, DeviceProfile.Cuda), sequenceParallel);
                return Step.Expand(walk.Steps).Select(s => s.Kept).Distinct().Single();
            }
            var scenario = Training(S, B) with { TensorParallel = t, SequenceParallel = sequenceParallel };
            return MemoryModel.Estimate(model, scenario, DeviceProfile.Cuda).Layers.Single(l => l.LayerType == "GptBlock").ActivationBytes;
        }

        [Theory]
        [InlineData("none", 1, false, CheckpointMode.None)]
        [InlineData("tensor", 2, false, CheckpointMode.None)]
        [InlineData("tensor", 8, false, CheckpointMode.None)]
        [InlineData("tensor+sequence", 2, true, CheckpointMode.None)]
        [InlineData("tensor+sequence", 8, true, CheckpointMode.None)]
        [InlineData("tensor+selective", 1, false, CheckpointMode.Selective)]
        [InlineData("tensor+selective", 4, false, CheckpointMode.Selective)]
        [InlineData("tensor+sequence+selective", 4, true, CheckpointMode.Selective)]
        public void Saved_bytes_per_layer_are_the_papers_plus_the_norm_statistics(string row, int t, bool sequenceParallel, CheckpointMode checkpoint)
        {
            var expected = Paper(row, t) + NormStatistics(sequenceParallel, t);
            Assert.Equal(expected, PerLayer(checkpoint, t, sequenceParallel));
        }

        [Theory]
        [InlineData(1)]
        [InlineData(4)]
        public void Full_recompute_keeps_2sbh_per_layer(int t)
        {
            // Table 2's last row: only the layer's 16-bit input is kept, whatever the tensor-parallel degree.
            Assert.Equal(Paper("full", t), PerLayer(CheckpointMode.Full, t, sequenceParallel: false));
        }

        [Fact]
        public void Full_recompute_with_sequence_parallel_keeps_the_rank_share_of_the_input()
        {
            // Table 2 gives 2sbh for full recomputation without splitting it; with sequence parallelism the layer's input is itself
            // split along the sequence (each rank runs its s/t positions until the first all-gather), so a rank keeps 2sbh/t.
            Assert.Equal(Paper("full", 4) / 4, PerLayer(CheckpointMode.Full, 4, sequenceParallel: true));
        }

        [Fact]
        public void The_papers_omission_is_below_a_thousandth()
        {
            var model = PerLayer(CheckpointMode.None, 1, false);
            Assert.True((model - Paper("none", 1)) / Paper("none", 1) < 1e-3);
        }
    }
}
