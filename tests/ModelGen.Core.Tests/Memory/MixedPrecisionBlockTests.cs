using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>
    /// <c>[Attention]</c> and <c>[FeedForward]</c> under mixed precision (docs/precision.md, "Attention and FeedForward"): each saved
    /// tensor at the dtype ModelGen.Nn's autocast forms keep — one 16-bit copy of the block input, 16-bit projection outputs and
    /// weight copies, the eager softmax's fp32 output beside the 16-bit cast that p·v keeps.
    /// </summary>
    public sealed class MixedPrecisionBlockTests
    {
        private const long Hidden = 64, Heads = 4, Ffn = 256, Seq = 32, Batch = 2, Tokens = Seq * Batch;
        private static readonly ScenarioSpec Training = new(80, Workload.Training, Seq, Batch, Optimizer.AdamW);

        private static LayerSpec Block(bool fused, FeedForwardActivation activation, DType? compute, double dropout = 0) =>
            Layer("AmpBlock", true,
                new LayerNormSpec("Ln1", "ln_1", D("Hidden", Hidden), 1e-5, true),
                new AttentionSpec("Attn", "attn", D("Hidden", Hidden), D("Heads", Heads), D("Heads", Heads), true, false, 10000, fused, true, dropout),
                new LayerNormSpec("Ln2", "ln_2", D("Hidden", Hidden), 1e-5, true),
                new FeedForwardSpec("Mlp", "mlp", D("Hidden", Hidden), D("Ffn", Ffn), activation, true))
                with { Precision = DType.Float32, Compute = compute };

        private static LayerMemory Estimate(LayerSpec layer, ScenarioSpec? scenario = null) =>
            MemoryModel.Estimate(Model(layer), scenario ?? Training, DeviceProfile.Cpu).Layers.Single();

        private static long Saved(LayerMemory layer, string block) => layer.SavedTensors.Where(t => t.Block == block).Sum(t => t.Bytes);

        [Fact]
        public void Eager_attention_keeps_16_bit_projections_and_weight_copies_and_an_fp32_softmax_output()
        {
            var layer = Estimate(Block(fused: false, FeedForwardActivation.Gelu, DType.BFloat16));
            long Tensor(string name) => layer.SavedTensors.Single(t => t.Block == "Attn" && t.Tensor == name).Bytes;
            var scores = Batch * Heads * Seq * Seq;
            Assert.Equal(Tokens * Hidden * 2, Tensor("input (shared by q/k/v projections)"));
            Assert.Equal(scores * 4, Tensor("softmax output (fp32, autocast)"));
            Assert.Equal(scores * 2, Tensor("probabilities cast to 16-bit (p·v input)"));
            Assert.Equal(Hidden * Hidden * 2, Tensor("q_proj weight cast to 16-bit (kept for backward)"));
            // input, q, k, v, context at 2 bytes; 6 bytes per score; four weight copies.
            Assert.Equal(5 * Tokens * Hidden * 2 + scores * 6 + 4 * Hidden * Hidden * 2, Saved(layer, "Attn"));
        }

        [Fact]
        public void Fused_attention_keeps_the_kernel_tensors_at_16_bits_and_no_scores()
        {
            var layer = Estimate(Block(fused: true, FeedForwardActivation.Gelu, DType.BFloat16));
            // input, q, k, v, attention output, context at 2 bytes; the fp32 log-sum-exp; four weight copies.
            Assert.Equal(6 * Tokens * Hidden * 2 + Batch * Heads * Seq * 4 + 4 * Hidden * Hidden * 2, Saved(layer, "Attn"));
        }

        [Theory]
        [InlineData(FeedForwardActivation.Gelu, 2, 2)]
        [InlineData(FeedForwardActivation.SwiGlu, 4, 3)]
        public void Feed_forward_keeps_its_16_bit_input_inner_tensors_and_weight_copies(FeedForwardActivation activation, int innerTensors, int projections)
        {
            var layer = Estimate(Block(fused: true, activation, DType.BFloat16));
            // SwiGLU: gate output, silu output, up output, product; GELU: up output, gelu output. Each projection is Hidden × Ffn.
            Assert.Equal(Tokens * Hidden * 2 + innerTensors * Tokens * Ffn * 2 + projections * Hidden * Ffn * 2, Saved(layer, "Mlp"));
            // The same block in fp32 keeps every activation at 4 bytes and no weight copy.
            var fp32 = Estimate(Block(fused: true, activation, null));
            Assert.Equal(Tokens * Hidden * 4 + innerTensors * Tokens * Ffn * 4, Saved(fp32, "Mlp"));
        }

        [Fact]
        public void Eager_dropout_keeps_its_mask_and_the_norms_stay_fp32()
        {
            var layer = Estimate(Block(fused: false, FeedForwardActivation.Gelu, DType.BFloat16, dropout: 0.1));
            var scores = Batch * Heads * Seq * Seq;
            // The CPU's dropout keeps its scaled noise at the probabilities' dtype (fp32 here), not a bool mask.
            var mask = DeviceProfile.Cpu.DropoutMaskIsBoolean ? 1 : 4;
            Assert.Equal(5 * Tokens * Hidden * 2 + scores * (4 + mask + 2) + 4 * Hidden * Hidden * 2, Saved(layer, "Attn"));
            Assert.Equal(Tokens * Hidden * 4 + 2 * Tokens * 4, Saved(layer, "Ln1"));
        }

        [Fact]
        public void In_inference_nothing_is_saved_and_the_weight_copies_are_temporaries()
        {
            var inference = new ScenarioSpec(80, Workload.Inference, Seq, Batch, Optimizer.AdamW);
            var estimate = MemoryModel.Estimate(Model(Block(fused: true, FeedForwardActivation.Gelu, DType.BFloat16)), inference, DeviceProfile.Cpu);
            Assert.Equal(0, estimate.Layers.Single().ActivationBytes);
            var transients = estimate.Phases.Single(p => p.Phase == MemoryPhases.Prefill).Terms.Single(t => t.Name == MemoryTerms.Transients).Bytes;
            Assert.True(transients >= Hidden * Ffn * 2, $"a 16-bit weight copy ({Hidden * Ffn * 2} B) is alive while its projection runs; transients {transients}");
        }
    }
}
