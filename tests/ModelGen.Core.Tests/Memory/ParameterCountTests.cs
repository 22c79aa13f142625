using ModelGen.Memory;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    public class ParameterCountTests
    {
        [Fact]
        public void Gpt2_small_has_124439808_parameters_with_the_head_tied_to_the_token_embedding()
        {
            var estimate = MemoryModel.Estimate(Gpt2Small(), Training(1024));
            Assert.Equal(124_439_808, estimate.ParameterCount);
            Assert.Equal(124_439_808, estimate.TrainableParameterCount);
        }

        [Fact]
        public void Llama3_8B_has_8030261248_parameters()
        {
            var estimate = MemoryModel.Estimate(Llama3_8B(), Training(8192));
            Assert.Equal(8_030_261_248, estimate.ParameterCount);
        }

        [Fact]
        public void Bf16_weights_take_two_bytes_per_parameter_and_fp32_four_plus_rotary_tables()
        {
            // Llama's rotary attention also caches fp32 cos and sin tables: 2 · seq · head dim · 4 bytes per layer.
            Assert.Equal((2 * 8_030_261_248) + (32 * 2 * 1 * 128 * 4), MemoryModel.Estimate(Llama3_8B(), Inference(1)).Term(MemoryTerms.Weights));
            Assert.Equal(4 * 124_439_808, MemoryModel.Estimate(Gpt2Small(), Inference(1)).Term(MemoryTerms.Weights));
        }
    }
}
