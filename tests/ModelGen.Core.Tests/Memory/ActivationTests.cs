using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>
    /// Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models", §4: a GPT layer in 16-bit with
    /// eager attention and dropout saves 34·s·b·h + 5·a·s²·b bytes. ModelGen's eager softmax computes in fp32 but saves its 16-bit
    /// output and no mask (Megatron's fused softmax), so the only term beside the paper's is layer_norm's fp32 mean and rstd
    /// (2·4·s·b per norm), which the paper leaves out. KorthikantiTableTests checks the whole of their Table 2.
    /// </summary>
    public class ActivationTests
    {
        private const long S = 2048, B = 2, H = 1024, A = 16;
        private const long Sbh = S * B * H;
        private const long As2b = A * S * S * B;
        private const long NormStats = 2 * 2 * 4 * S * B;

        private static LayerMemory Layer(LayerSpec block, int tensorParallel = 1, bool sequenceParallel = false)
        {
            var root = Models.Layer("Gpt", true, new StackSpec("H", "h", D("Layers", 4), "global::Demo.GptBlock", 0)) with { Precision = DType.BFloat16 };
            var scenario = Training(S, B) with { TensorParallel = tensorParallel, SequenceParallel = sequenceParallel };
            var estimate = MemoryModel.Estimate(Model(root, block), scenario, DeviceProfile.Cuda);
            return estimate.Layers.Single(l => l.LayerType == "GptBlock");
        }

        private static long Saved(LayerMemory layer, string block, string tensor) =>
            layer.SavedTensors.Single(t => t.Block == block && t.Tensor == tensor).Bytes;

        [Fact]
        public void Gpt_layer_saves_Korthikanti_34sbh_plus_5as2b_op_by_op()
        {
            var layer = Layer(GptBlock(H, A));
            // Attention block: 11sbh + 5as²b.
            Assert.Equal(2 * Sbh, Saved(layer, "Attn", "input (shared by q/k/v projections)"));
            Assert.Equal(2 * Sbh, Saved(layer, "Attn", "q"));
            Assert.Equal(2 * Sbh, Saved(layer, "Attn", "k"));
            Assert.Equal(2 * Sbh, Saved(layer, "Attn", "v"));
            Assert.Equal(2 * Sbh, Saved(layer, "Attn", "context (o_proj input)"));
            Assert.Equal(Sbh, Saved(layer, "AttnDrop", "mask (bool)"));
            Assert.Equal(2 * As2b, Saved(layer, "Attn", "softmax output (16-bit, computed in fp32)"));
            Assert.Equal(As2b, Saved(layer, "Attn", "dropout mask (bool)"));
            Assert.Equal(2 * As2b, Saved(layer, "Attn", "dropped probabilities (p·v input)"));
            Assert.DoesNotContain(layer.SavedTensors, t => t.Tensor.Contains("mask (bool, s"));
            // MLP: 19sbh.
            Assert.Equal(2 * Sbh, Saved(layer, "Mlp", "input"));
            Assert.Equal(8 * Sbh, Saved(layer, "Mlp", "up_proj output (gelu input)"));
            Assert.Equal(8 * Sbh, Saved(layer, "Mlp", "gelu output (down_proj input)"));
            Assert.Equal(Sbh, Saved(layer, "MlpDrop", "mask (bool)"));
            // Layer norms: 4sbh.
            Assert.Equal(2 * Sbh, Saved(layer, "Ln1", "input"));
            Assert.Equal(2 * Sbh, Saved(layer, "Ln2", "input"));

            Assert.Equal((34 * Sbh) + (5 * As2b) + NormStats, layer.ActivationBytes);
            Assert.Equal(layer.ActivationBytes, layer.SavedTensors.Sum(t => t.Bytes));
        }

        [Fact]
        public void Tensor_parallel_divides_the_parallel_regions_only()
        {
            const int t = 2;
            // sbh·(10 + 24/t + 5as/(ht)) (Korthikanti §4.2.1), plus the norms' statistics.
            var layer = Layer(GptBlock(H, A, shard: true), t);
            Assert.Equal((10 * Sbh) + (24 * Sbh / t) + (5 * As2b / t) + NormStats, layer.ActivationBytes);
        }

        [Fact]
        public void Sequence_parallel_divides_everything_by_t()
        {
            const int t = 4;
            // sbh/t·(34 + 5as/h) (Korthikanti §4.2.2).
            var layer = Layer(GptBlock(H, A, shard: true), t, sequenceParallel: true);
            Assert.Equal((34 * Sbh / t) + (5 * As2b / t) + (NormStats / t), layer.ActivationBytes);
        }

        [Fact]
        public void Selective_recomputation_keeps_34sbh()
        {
            // Korthikanti §4.3: recomputing the attention core leaves 34sbh (q, k, v kept as the checkpoint's stacked input).
            var layer = Layer(GptBlock(H, A, checkpoint: CheckpointMode.Selective));
            Assert.Equal((34 * Sbh) + NormStats, layer.ActivationBytes);
            Assert.Equal(6 * Sbh, Saved(layer, "Attn", "q, k, v stacked (checkpoint input)"));
        }

        [Fact]
        public void Full_recomputation_keeps_2sbh_per_layer_and_recomputes_one_layer()
        {
            var root = Models.Layer("Gpt", true, new StackSpec("H", "h", D("Layers", 4), "global::Demo.GptBlock", 0)) with { Precision = DType.BFloat16 };
            var model = Model(root, GptBlock(H, A, checkpoint: CheckpointMode.Full));
            var walk = ModelWalk.Run(model, new Pass(B, S, S, 1, true, DeviceProfile.Cuda), false);
            var steps = Step.Expand(walk.Steps).ToList(); // the stack is one run of one checkpointed step; expanded, one per layer
            Assert.Equal(4, steps.Count);
            Assert.All(steps, s => Assert.Equal(2 * Sbh, s.Kept));
            Assert.All(steps, s => Assert.Equal((34 * Sbh) + (5 * As2b) + NormStats, s.Recompute));
        }

        [Fact]
        public void Checkpointing_every_second_layer_of_a_stack_collapses_half_the_repeats()
        {
            var root = Models.Layer("Gpt", true, new StackSpec("H", "h", D("Layers", 4), "global::Demo.GptBlock", 2)) with { Precision = DType.BFloat16 };
            var walk = ModelWalk.Run(Model(root, GptBlock(H, A)), new Pass(B, S, S, 1, true, DeviceProfile.Cuda), false);
            Assert.Equal(2 * Sbh * 2 + (2 * ((34 * Sbh) + (5 * As2b) + NormStats)), Step.Sum(walk.Steps, s => s.Kept));
        }

        [Fact]
        public void Fused_attention_saves_no_s_squared_terms()
        {
            var layer = Layer(GptBlock(H, A, fused: true, dropout: 0));
            // q, k, v, output, context, input: 12sbh; log-sum-exp 4·a·s·b; MLP 18sbh; norms 4sbh.
            Assert.Equal((34 * Sbh) + (4 * A * S * B) + NormStats, layer.ActivationBytes);
        }

        [Fact]
        public void Swiglu_saves_gate_silu_up_and_product()
        {
            var estimate = MemoryModel.Estimate(Llama3_8B(), Training(1024));
            var layer = estimate.Layers.Single(l => l.LayerType == "DecoderBlock");
            const long tokens = 1024, inner = 14336;
            Assert.Equal(4 * tokens * inner * 2, layer.SavedTensors.Where(t => t.Block == "Mlp" && t.Tensor != "input").Sum(t => t.Bytes));
        }
    }
}
