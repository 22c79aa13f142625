using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using ModelGen.Quantization;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    public class InferenceAndQuantizationTests
    {
        [Theory]
        [InlineData(8192, 1)]
        [InlineData(4096, 3)]
        public void Kv_cache_is_2_layers_kvheads_headdim_seq_batch_bytes(long seq, long batch)
        {
            var estimate = MemoryModel.Estimate(Llama3_8B(), Inference(seq, batch));
            // the design's 2 · layers · kvHeads · headDim · seq · batch · bytes, plus KvCache's validity byte per (layer, sequence, slot)
            var expected = (2L * 32 * 8 * 128 * seq * batch * 2) + (32L * seq * batch);
            Assert.All(estimate.Phases, p => Assert.Equal(expected, ModelStateTests.Term(p, MemoryTerms.KvCache)));
            Assert.Equal(expected, estimate.Term(MemoryTerms.KvCache));
        }

        [Fact]
        public void Kv_cache_of_llama3_8b_at_8192_tokens_is_one_gigabyte_plus_the_validity_bytes()
        {
            // docs/inference.md: 32 · 8192 · (8 · 2 · 128 · 2 + 1) = 1 GiB + 256 KiB, what the runtime's KvCache allocates
            Assert.Equal(1_074_003_968L, MemoryModel.Estimate(Llama3_8B(), Inference(8192)).Term(MemoryTerms.KvCache));
            Assert.Equal(Gigabytes.Bytes + (32L * 8192), KvCacheSize.Bytes(32, 1, 8, 128, 8192, 2, int8: false));
        }

        [Fact]
        public void Decode_logits_cover_one_position_and_prefill_every_position()
        {
            var estimate = MemoryModel.Estimate(Llama3_8B(), Inference(8192));
            var prefill = estimate.Phases.Single(p => p.Phase == MemoryPhases.Prefill);
            var decode = estimate.Phases.Single(p => p.Phase == MemoryPhases.Decode);
            Assert.True(ModelStateTests.Term(prefill, MemoryTerms.Transients) >= 8192L * 128256 * 2);
            Assert.True(ModelStateTests.Term(decode, MemoryTerms.Transients) < 8192L * 128256 * 2);
            Assert.Equal(MemoryPhases.Prefill, estimate.PeakPhase);
        }

        [Theory]
        [InlineData(QuantKind.Int8, 0, false, (4096L * 4096) + (4 * 4096))]
        [InlineData(QuantKind.Int4, 128, false, (4096L * 4096 / 2) + (4 * 4096L * 4096 / 128))]
        [InlineData(QuantKind.NF4, 64, false, (4096L * 4096 / 2) + (4 * 4096L * 4096 / 64))]
        [InlineData(QuantKind.NF4, 64, true, (4096L * 4096 / 2) + (4096L * 4096 / 64) + (4 * 4096L * 4096 / 64 / 256) + 4)]
        public void Quantized_weights_take_codes_plus_scales_as_the_runtime_stores_them(QuantKind kind, int group, bool doubleQuant, long expected)
        {
            var quant = new QuantSpec(kind, group, doubleQuant);
            var model = Model(Layer("Q", true, new LinearSpec("Proj", "proj", D("Hidden", 4096), D("Hidden", 4096), false) { Quant = quant }));
            Assert.Equal(expected, MemoryModel.Estimate(model, Inference(1)).Term(MemoryTerms.Weights));
        }

        [Theory]
        [InlineData(QuantKind.Int4, 128, false, 0.53125)]   // 4 bits + bf16 scale and zero per 128: DESIGN's "≈ 0.53 B/param"
        [InlineData(QuantKind.NF4, 64, false, 0.5625)]      // 4.5 bits (QLoRA §3)
        [InlineData(QuantKind.NF4, 64, true, 0.5 + (1.0 / 64) + (4.0 / (256 * 64)))] // 4.127 bits (QLoRA §3)
        public void Stored_bytes_per_parameter_match_the_published_rates(QuantKind kind, int group, bool doubleQuant, double perParameter)
        {
            const long n = 4096L * 4096;
            var bytes = QuantLayout.WeightBytes(kind, group, doubleQuant, 4096, 4096);
            var constant = doubleQuant ? 4 : 0; // the fp32 offset of the second level
            Assert.Equal(perParameter, (double)(bytes - constant) / n, 12);
        }

        [Fact]
        public void A_quantized_layer_dequantizes_its_weight_at_each_use()
        {
            var quant = new QuantSpec(QuantKind.NF4, 64, false);
            var model = Model(Layer("Q", true, new LinearSpec("Proj", "proj", D("Hidden", 4096), D("Hidden", 4096), false) { Quant = quant }) with { Precision = DType.BFloat16 });
            var walk = ModelWalk.Run(model, new Pass(1, 1, 1, 1, false, DeviceProfile.Cuda), false);
            Assert.Equal((4096L * 4096 * 2) + (4096 * 2), walk.Steps.Single().Temporary);
        }

        [Fact]
        public void A_group_that_does_not_divide_is_rejected_with_the_sizes()
        {
            var model = Model(Layer("Q", true, new LinearSpec("Proj", "proj", D("Hidden", 100), D("Hidden", 64), false) { Quant = new QuantSpec(QuantKind.Int4, 128, false) }));
            var error = Assert.Throws<System.ArgumentException>(() => MemoryModel.Estimate(model, Inference(1)));
            Assert.Contains("100", error.Message);
        }
    }
}
