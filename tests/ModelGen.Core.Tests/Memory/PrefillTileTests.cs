using System.Linq;
using ModelGen.Memory;
using ModelGen.Quantization;
using ModelGen.Specs;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>
    /// The bf16 prefill tile of quantized projections on the CPU (<see cref="PrefillTile"/>): held by the thread through a prefill
    /// pass, so the memory model counts the largest block's tile at every step of the pass and not the block's dequantized weight;
    /// nothing where the runtime takes no tile (a kernel's few rows, training, fp32, a GPU).
    /// </summary>
    public class PrefillTileTests
    {
        private const long K = 1024;

        private static ModelSpec Block(QuantSpec quant, DType precision = DType.BFloat16) => Model(Layer("Block", true,
            new AttentionSpec("Attn", "attn", D("Hidden", K), D("Heads", 8), D("KvHeads", 8), true, false, 10000, true, false, 0) { Quant = quant },
            new FeedForwardSpec("Mlp", "mlp", D("Hidden", 4 * K), D("Ffn", 4 * K), FeedForwardActivation.SwiGlu, false) { Quant = quant })
            with { Precision = precision });

        private static readonly QuantSpec Int8 = new(QuantKind.Int8, 0, false);
        private static readonly QuantSpec Nf4 = new(QuantKind.NF4, 64, false);

        [Fact]
        public void A_tile_is_whole_rows_up_to_two_to_the_23_elements()
        {
            Assert.Equal(4096L * 4096 / 2, PrefillTile.Elements(4096, 4096));   // 2048 rows
            Assert.Equal(762L * 11008, PrefillTile.Elements(11008, 4096));      // ⌊2^23 / 11008⌋ rows
            Assert.Equal(64L * 256, PrefillTile.Elements(256, 64));            // a small weight: whole
        }

        [Fact]
        public void A_bf16_prefill_on_the_cpu_holds_the_largest_projections_tile_instead_of_its_dequantized_weight()
        {
            var pass = new Pass(1, 256, 256, 1, false, DeviceProfile.Cpu);
            var steps = ModelWalk.Run(Block(Int8), pass, false).Steps;
            Assert.Equal(K * K * 2, steps[0].PrefillTile);                          // q/k/v/o: 1024², whole, bf16
            Assert.Equal(PrefillTile.Elements(4 * K, 4 * K) * 2, steps[1].PrefillTile); // 4096² capped at 2^23 elements: 16 MiB
            var gpu = ModelWalk.Run(Block(Int8), new Pass(1, 256, 256, 1, false, DeviceProfile.Cuda), false).Steps;
            Assert.All(gpu, s => Assert.Equal(0, s.PrefillTile));
            // On the GPU the step holds the dequantized weight as a temporary; on the CPU the tile replaces it.
            Assert.Equal(K * K * 2, gpu[0].Temporary - steps[0].Temporary);
            Assert.Equal(4 * K * 4 * K * 2, gpu[1].Temporary - steps[1].Temporary);
        }

        [Fact]
        public void Few_rows_training_and_fp32_take_no_tile()
        {
            Assert.All(ModelWalk.Run(Block(Int8), new Pass(1, 16, 16, 1, false, DeviceProfile.Cpu), false).Steps, s => Assert.Equal(0, s.PrefillTile)); // the int8 kernel
            Assert.All(ModelWalk.Run(Block(Nf4), new Pass(1, 4, 4, 1, false, DeviceProfile.Cpu), false).Steps, s => Assert.Equal(0, s.PrefillTile));   // the NF4 kernel
            Assert.Equal(K * K * 2, ModelWalk.Run(Block(Nf4), new Pass(1, 5, 5, 1, false, DeviceProfile.Cpu), false).Steps[0].PrefillTile);
            Assert.All(ModelWalk.Run(Block(Int8), new Pass(1, 256, 256, 1, true, DeviceProfile.Cpu), false).Steps, s => Assert.Equal(0, s.PrefillTile));
            Assert.All(ModelWalk.Run(Block(Int8, DType.Float32), new Pass(1, 256, 256, 1, false, DeviceProfile.Cpu), false).Steps, s => Assert.Equal(0, s.PrefillTile));
        }

        [Fact]
        public void The_prefill_phase_adds_the_largest_tile_to_every_step_and_the_decode_step_none()
        {
            var model = Block(Int8);
            var estimate = MemoryModel.Estimate(model, Inference(256), DeviceProfile.Cpu);
            var walk = ModelWalk.Run(model, new Pass(1, 256, 256, 1, false, DeviceProfile.Cpu), false);
            var tile = walk.Steps.Max(s => s.PrefillTile);
            Assert.Equal(PrefillTile.Elements(4 * K, 4 * K) * 2, tile);
            var prefill = estimate.Phases.Single(p => p.Phase == MemoryPhases.Prefill);
            Assert.Equal(walk.Steps.Max(s => s.Temporary) + tile, ModelStateTests.Term(prefill, MemoryTerms.Transients));
            var decodeWalk = ModelWalk.Run(model, new Pass(1, 1, 256, 1, false, DeviceProfile.Cpu), false);
            var decode = estimate.Phases.Single(p => p.Phase == MemoryPhases.Decode);
            Assert.Equal(decodeWalk.Steps.Max(s => s.Temporary), ModelStateTests.Term(decode, MemoryTerms.Transients));
        }
    }
}
