using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>
    /// LoRA (Hu et al. 2021) and 8-bit AdamW states (Dettmers et al. 2022) in the memory model, against hand-computed bytes from the
    /// table in docs/lora.md: adapters A [r, in] and B [out, r] train, every base parameter is frozen.
    /// </summary>
    public class LoraTests
    {
        private const long K = 1024;

        private static LoraSpec Lora(int rank, params string[] targets) => new(rank, 2 * rank, 0, targets.ToEquatableArray());

        private static ModelSpec TwoLinears(LoraSpec? lora, DType precision = DType.Float32) => Model(Layer("Mlp", true,
            new LinearSpec("Up", "up", D("Hidden", K), D("Hidden", K), true),
            new LinearSpec("Down", "down", D("Hidden", K), D("Hidden", K), false)) with { Precision = precision, Lora = lora });

        private static PhasePeak Step(MemoryEstimate estimate) => estimate.Phases.Single(p => p.Phase == MemoryPhases.OptimizerStep);

        [Fact]
        public void Only_the_adapters_have_gradients_and_adamw_states()
        {
            var estimate = MemoryModel.Estimate(TwoLinears(Lora(8)), Training(16));
            const long adapters = 2 * 8 * (K + K); // two projections, r·(in + out) each
            Assert.Equal(adapters, estimate.TrainableParameterCount);
            Assert.Equal((2 * K * K) + K + adapters, estimate.ParameterCount); // the frozen bias still counts as a parameter
            var step = Step(estimate);
            Assert.Equal(4 * adapters, ModelStateTests.Term(step, MemoryTerms.Gradients));
            Assert.Equal(8 * adapters, ModelStateTests.Term(step, MemoryTerms.Optimizer));
            Assert.Equal(4 * ((2 * K * K) + K + adapters), ModelStateTests.Term(step, MemoryTerms.Weights));
        }

        [Fact]
        public void Adam8bit_states_are_counted_tensor_by_tensor_as_AdamW8Bit_holds_them()
        {
            // r = 8: A and B hold 8192 elements each (≥ 4096): 2·8192 + 8·⌈8192/2048⌉ = 16416 bytes; four tensors.
            var big = Step(MemoryModel.Estimate(TwoLinears(Lora(8)), Training(16, 1, Optimizer.Adam8Bit)));
            Assert.Equal(4 * 16416, ModelStateTests.Term(big, MemoryTerms.Optimizer));
            // r = 2: 2048 elements each, under min_8bit_size: two fp32 moments, 8 bytes per element.
            var small = Step(MemoryModel.Estimate(TwoLinears(Lora(2)), Training(16, 1, Optimizer.Adam8Bit)));
            Assert.Equal(4 * 8 * 2048, ModelStateTests.Term(small, MemoryTerms.Optimizer));
        }

        [Fact]
        public void Adam8bit_keeps_no_master_copy_and_no_fp32_main_gradient_for_bf16_adapters()
        {
            var step = Step(MemoryModel.Estimate(TwoLinears(Lora(8), DType.BFloat16), Training(16, 1, Optimizer.Adam8Bit)));
            Assert.Equal(4 * 16416, ModelStateTests.Term(step, MemoryTerms.Optimizer));
            Assert.Equal(2 * 4 * 8 * K, ModelStateTests.Term(step, MemoryTerms.Gradients)); // bf16 gradients of 4 × 8192 elements
            var adamw = Step(MemoryModel.Estimate(TwoLinears(Lora(8), DType.BFloat16), Training(16)));
            Assert.Equal(12 * 4 * 8 * K, ModelStateTests.Term(adamw, MemoryTerms.Optimizer)); // two moments and a master copy, fp32
        }

        [Fact]
        public void A_frozen_linear_saves_no_input_and_an_adapter_saves_its_A_output()
        {
            var estimate = MemoryModel.Estimate(TwoLinears(Lora(8, "up")), Training(16));
            var saved = estimate.Layers.Single().SavedTensors;
            Assert.Equal(16 * K * 4, saved.Single(t => t.Block == "Up" && t.Tensor == "input").Bytes); // A saves x
            Assert.Equal(16 * 8 * 4, saved.Single(t => t.Block == "Up" && t.Tensor == "up lora_A output").Bytes);
            Assert.DoesNotContain(saved, t => t.Block == "Down"); // not adapted, frozen: keeps nothing
            Assert.Equal(8 * (K + K), estimate.TrainableParameterCount);
        }

        [Fact]
        public void A_quantized_adapted_base_has_A_save_the_input_and_dropout_adds_its_input_and_mask()
        {
            var quantized = Model(Layer("Q", true,
                new LinearSpec("Up", "up", D("Hidden", K), D("Hidden", K), false) { Quant = new QuantSpec(QuantKind.NF4, 64, false) })
                with { Precision = DType.BFloat16, Lora = Lora(16) });
            var saved = MemoryModel.Estimate(quantized, Training(32)).Layers.Single().SavedTensors;
            Assert.Equal(32 * K * 2, saved.Single(t => t.Tensor == "input (saved by lora_A)" && t.Block == "Up").Bytes);
            Assert.Equal(32 * 16 * 2, saved.Single(t => t.Tensor == "up lora_A output").Bytes);
            Assert.Equal(2, saved.Count);

            var dropout = quantized with { Root = quantized.Root with { Lora = new LoraSpec(16, 32, 0.05, default) } };
            var withDropout = MemoryModel.Estimate(dropout, Training(32), DeviceProfile.Cuda).Layers.Single().SavedTensors;
            Assert.Equal(32 * K * 2, withDropout.Single(t => t.Tensor == "up lora dropped input").Bytes);
            Assert.Equal(32 * K * 1, withDropout.Single(t => t.Tensor == "up lora dropout mask").Bytes); // CUDA: bool mask
            Assert.DoesNotContain(withDropout, t => t.Tensor == "input (saved by lora_A)" && t.Block == "Up");
        }

        [Fact]
        public void Llama3_8b_with_r16_on_attention_and_mlp_trains_41_9_million_parameters()
        {
            var llama = Llama3_8B();
            var block = llama.Layers.Single() with { Lora = Lora(16, "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj") };
            var estimate = MemoryModel.Estimate(llama with { Layers = new[] { block }.ToEquatableArray() }, Training(2048));
            // Per layer: q 4096+4096, k 4096+1024, v 4096+1024, o 4096+4096, gate/up/down 3·(4096+14336) = 81920 · r 16.
            Assert.Equal(32L * 16 * 81920, estimate.TrainableParameterCount);
            Assert.Equal(41_943_040, estimate.TrainableParameterCount);
        }

        [Fact]
        public void The_nearest_lora_scope_wins()
        {
            var block = Layer("Block", false, new LinearSpec("Proj", "proj", D("Hidden", K), D("Hidden", K), false)) with { Lora = Lora(4) };
            var root = Layer("Net", true,
                new StackSpec("Blocks", "blocks", D("Layers", 2), "global::Demo.Block", 0),
                new LinearSpec("Head", "head", D("Hidden", K), D("Vocab", 512), false)) with { Lora = Lora(8) };
            var estimate = MemoryModel.Estimate(Model(root, block), Training(16));
            Assert.Equal((2 * 4 * (K + K)) + (8 * (K + 512)), estimate.TrainableParameterCount);
        }

        [Fact]
        public void Without_lora_nothing_changes()
        {
            var plain = MemoryModel.Estimate(TwoLinears(null), Training(16));
            Assert.Equal((2 * K * K) + K, plain.TrainableParameterCount);
            Assert.Equal(2, plain.Layers.Single().SavedTensors.Count);
        }
    }
}
