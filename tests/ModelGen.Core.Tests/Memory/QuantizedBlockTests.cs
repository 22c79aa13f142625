using System.Linq;
using ModelGen.Memory;
using ModelGen.Quantization;
using ModelGen.Specs;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>
    /// [Quantize] on Attention and FeedForward blocks (issue 13): quantized, frozen projection weights; no saved projection inputs
    /// (QuantizedLinearFunction keeps none); one dequantized weight as a temporary; QLoRA adapters keep their own inputs.
    /// </summary>
    public class QuantizedBlockTests
    {
        private const long K = 1024;
        private const long T = 16; // tokens: batch 1 × seq 16
        private static readonly QuantSpec Nf4 = new(QuantKind.NF4, 64, false);

        private static ModelSpec Block(QuantSpec? quant, LoraSpec? lora = null) => Model(Layer("Block", true,
            new AttentionSpec("Attn", "attn", D("Hidden", K), D("Heads", 8), D("KvHeads", 8), true, false, 10000, true, false, 0) { Quant = quant },
            new FeedForwardSpec("Mlp", "mlp", D("Hidden", K), D("Ffn", 4 * K), FeedForwardActivation.SwiGlu, false) { Quant = quant })
            with { Lora = lora });

        private static long Nf4Bytes(long inFeatures, long outFeatures) => QuantLayout.WeightBytes(QuantKind.NF4, 64, false, inFeatures, outFeatures);

        [Fact]
        public void The_projections_are_stored_quantized_and_frozen()
        {
            var estimate = MemoryModel.Estimate(Block(Nf4), Training(T));
            var step = estimate.Phases.Single(p => p.Phase == MemoryPhases.OptimizerStep);
            Assert.Equal((4 * Nf4Bytes(K, K)) + (2 * Nf4Bytes(K, 4 * K)) + Nf4Bytes(4 * K, K), ModelStateTests.Term(step, MemoryTerms.Weights));
            Assert.Equal((4 * K * K) + (3 * 4 * K * K), estimate.ParameterCount);
            Assert.Equal(0, estimate.TrainableParameterCount);
            Assert.Equal(0, ModelStateTests.Term(step, MemoryTerms.Gradients));
        }

        [Fact]
        public void Quantized_projections_save_no_input_and_the_rest_of_the_block_saves_what_it_did()
        {
            var dense = MemoryModel.Estimate(Block(null), Training(T)).Layers.Single().SavedTensors;
            var quantized = MemoryModel.Estimate(Block(Nf4), Training(T)).Layers.Single().SavedTensors;
            string[] projectionInputs = { "input (shared by q/k/v projections)", "context (o_proj input)", "input", "silu(gate) * up (down_proj input)" };
            Assert.All(projectionInputs, name => Assert.Contains(dense, t => t.Tensor == name));
            Assert.All(projectionInputs, name => Assert.DoesNotContain(quantized, t => t.Tensor == name));
            var kept = dense.Where(t => !projectionInputs.Contains(t.Tensor)).Select(t => (t.Block, t.Tensor, t.Bytes)).ToList();
            Assert.Equal(kept, quantized.Select(t => (t.Block, t.Tensor, t.Bytes)).ToList());
            // fp32: the attention input and context are T·K·4 bytes each, the MLP input T·K·4 and down_proj's input T·4K·4.
            Assert.Equal((T * K * 4 * 3) + (T * 4 * K * 4), dense.Sum(t => t.Bytes) - quantized.Sum(t => t.Bytes));
        }

        [Fact]
        public void One_dequantized_weight_of_the_largest_projection_is_a_temporary()
        {
            var pass = new Pass(1, T, T, 1, false, DeviceProfile.Cuda);
            var dense = ModelWalk.Run(Block(null), pass, false).Steps;
            var quantized = ModelWalk.Run(Block(Nf4), pass, false).Steps;
            Assert.Equal(K * K * 4, quantized[0].Temporary - dense[0].Temporary);          // Attention: q_proj, K × K fp32
            Assert.Equal((K * 4 * K * 4) + 0, quantized[1].Temporary - dense[1].Temporary); // FeedForward: gate/up/down, 4K × K fp32
        }

        [Fact]
        public void Qlora_adapters_keep_one_copy_of_each_input_they_read()
        {
            var lora = new LoraSpec(16, 32, 0, new[] { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" }.ToEquatableArray());
            var saved = MemoryModel.Estimate(Block(Nf4, lora), Training(T)).Layers.Single().SavedTensors;
            Assert.Equal(T * K * 4, saved.Single(t => t.Block == "Attn" && t.Tensor == "input (shared by the projections) (saved by lora_A)").Bytes);
            Assert.Equal(T * K * 4, saved.Single(t => t.Block == "Attn" && t.Tensor == "context (o_proj input) (saved by lora_A)").Bytes);
            Assert.Equal(T * K * 4, saved.Single(t => t.Block == "Mlp" && t.Tensor == "input (shared by the projections) (saved by lora_A)").Bytes);
            Assert.Equal(T * 4 * K * 4, saved.Single(t => t.Block == "Mlp" && t.Tensor == "down_proj input (saved by lora_A)").Bytes);
            Assert.Equal(7, saved.Count(t => t.Tensor.EndsWith(" lora_A output")));

            // Only q adapted: the attention input is kept once, the context not at all.
            var qOnly = MemoryModel.Estimate(Block(Nf4, lora with { Targets = new[] { "q_proj" }.ToEquatableArray() }), Training(T)).Layers.Single().SavedTensors;
            Assert.Single(qOnly, t => t.Tensor.EndsWith("(saved by lora_A)"));
            Assert.Equal(16 * (K + K), MemoryModel.Estimate(Block(Nf4, lora with { Targets = new[] { "q_proj" }.ToEquatableArray() }), Training(T)).TrainableParameterCount);
        }
    }
}
