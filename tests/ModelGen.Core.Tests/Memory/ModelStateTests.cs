using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>
    /// ZeRO (Rajbhandari et al. 2020, §3 and §5, Figure 1): mixed-precision Adam keeps 2Ψ (16-bit weights) + 2Ψ (16-bit gradients)
    /// + KΨ with K = 12 (fp32 master weights, momentum, variance) = 16Ψ; stage 1 divides KΨ by Nd, stage 2 also the gradients, stage 3
    /// also the weights. ModelGen's optimizers fold each 16-bit gradient into one fp32 main gradient of the rank's partition after
    /// backward (2Ψ become 4Ψ/Nd: Megatron-LM's 18Ψ at Nd = 1), and free every gradient when the step ends.
    /// </summary>
    public class ModelStateTests
    {
        private const long Psi = 2 * 1024 * 1024;
        private const int Nd = 4;

        private static ModelSpec TwoLinears(DType precision = DType.BFloat16) => Model(Layer("Mlp", true,
            new LinearSpec("Up", "up", D("Hidden", 1024), D("Hidden", 1024), false),
            new LinearSpec("Down", "down", D("Hidden", 1024), D("Hidden", 1024), false)) with { Precision = precision });

        private static ModelStates States(int stage, Optimizer optimizer = Optimizer.AdamW)
        {
            var scenario = Training(16) with { DataParallel = Nd, ZeroStage = stage, Optimizer = optimizer };
            var walk = ModelWalk.Run(TwoLinears(), new Pass(1, 16, 16, 1, true, DeviceProfile.Cuda), false);
            Assert.Equal(2 * Psi, walk.GradientBytes);
            return ModelStates.Of(walk, scenario, LargestTrainableTensor.Elements(TwoLinears(), 1));
        }

        [Theory]
        [InlineData(0)]
        [InlineData(1)]
        [InlineData(2)]
        [InlineData(3)]
        public void Zero_stages_partition_optimizer_gradients_and_weights(int stage)
        {
            var states = States(stage);
            const long k = 12;
            Assert.Equal(stage >= 1 ? k * Psi / Nd : k * Psi, states.Optimizer);
            // After the fold: one fp32 main gradient per element this rank steps; the 16-bit gradients are freed.
            Assert.Equal(stage >= 1 ? 4 * Psi / Nd : 4 * Psi, states.FoldedGradients);
            // The collective of the fold: the largest parameter (1024×1024) in fp32 and this rank's part of it (at most Ψ/Nd).
            Assert.Equal(stage >= 1 ? 4L * ((1024 * 1024) + (Psi / Nd)) : 0, states.FoldTemporaries);
            // Stage 3 without repeated layers: the engine gathers the whole model as one unit for the step, beside the partitions.
            Assert.Equal(stage >= 3 ? (2 * Psi / Nd) + (2 * Psi) : 2 * Psi, states.Weights);
        }

        [Theory]
        [InlineData(1, false)]
        [InlineData(4, false)]
        [InlineData(4, true)]
        public void Zero_stage_3_holds_the_partitions_the_rest_the_gathered_layer_and_the_prefetched_one(int ranks, bool offload)
        {
            // 6 stacked blocks of one 1024×1024 bf16 Linear (2 MiB each) and a 1024×1024 head outside the stack.
            var block = Layer("Block", false, new LinearSpec("Fc", "fc", D("Hidden", 1024), D("Hidden", 1024), false));
            var model = Model(Layer("Net", true, new StackSpec("Blocks", "blocks", D("Layers", 6), "global::Demo.Block", 0),
                new LinearSpec("Head", "head", D("Hidden", 1024), D("Hidden", 1024), false)) with { Precision = DType.BFloat16 }, block);
            var scenario = Training(16) with { DataParallel = ranks, ZeroStage = 3, OffloadParameters = offload };
            var walk = ModelWalk.Run(model, new Pass(1, 16, 16, 1, true, DeviceProfile.Cuda), false);
            var states = ModelStates.Of(walk, scenario, LargestTrainableTensor.Elements(model, 1));
            const long unit = 2L * 1024 * 1024;
            // One unit gathered, and (with more than one rank) the next one prefetched; the head is gathered all step.
            var gathered = unit + ((ranks > 1 ? 2 : 1) * unit);
            // Over one rank without offload ZeRO-3 partitions nothing (MG0205): the whole weights, as PlanTraining runs it.
            Assert.Equal(offload ? gathered : ranks == 1 ? 7 * unit : (7 * unit / ranks) + gathered, states.Weights);
            Assert.Equal(offload ? 7 * unit / ranks : 0, states.Host);
            // A block's gradients are reduce-scattered into the rank's partition when its backward ends; the head's stay whole.
            Assert.Equal(unit / ranks, states.GradientsAfterBackward(unit, inStack: true));
            Assert.Equal(unit, states.GradientsAfterBackward(unit, inStack: false));
        }

        [Fact]
        public void Backward_ends_at_16_bytes_and_the_step_holds_18_bytes_per_parameter()
        {
            var estimate = MemoryModel.Estimate(TwoLinears(), Training(16));
            var backward = estimate.Phases.Single(p => p.Phase == MemoryPhases.Backward);
            var step = estimate.Phases.Single(p => p.Phase == MemoryPhases.OptimizerStep);
            // 2 (bf16 weights) + 2 (bf16 gradients) + 12 (fp32 master weights and two moments) by the end of backward. Its peak is
            // Up's backward: Down's gradients are the parameters' (Ψ bytes), Up's own are still fresh tensors (transients).
            Assert.Equal(Psi, Term(backward, MemoryTerms.Gradients));
            Assert.True(Term(backward, MemoryTerms.Transients) >= Psi);
            Assert.Equal(12 * Psi, Term(backward, MemoryTerms.Optimizer));
            Assert.Equal(2 * Psi, Term(step, MemoryTerms.Weights));
            // 2 + 4 (one fp32 main gradient) + 12 in the step.
            Assert.Equal(4 * Psi, Term(step, MemoryTerms.Gradients));
            Assert.Equal(12 * Psi, Term(step, MemoryTerms.Optimizer));
            // AdamW's one fp32 denominator of the largest parameter (1024×1024), stepped one parameter at a time, plus the logits the
            // training loop still holds: 16 tokens × 1024 columns in bf16.
            Assert.Equal((4 * 1024 * 1024) + (16 * 1024 * 2), Term(step, MemoryTerms.Transients));
        }

        [Fact]
        public void The_forward_holds_no_gradients_and_backward_gains_them_layer_by_layer()
        {
            var estimate = MemoryModel.Estimate(TwoLinears(), Training(16));
            Assert.Equal(0, Term(estimate.Phases.Single(p => p.Phase == MemoryPhases.Forward), MemoryTerms.Gradients));
            var many = Model(Layer("Mlp", true, Enumerable.Range(0, 8)
                .Select(i => (BlockSpec)new LinearSpec($"L{i}", $"l{i}", D("Hidden", 256), D("Hidden", 256), false)).ToArray()) with { Precision = DType.Float32 });
            var step = MemoryModel.Estimate(many, Training(16)).Phases.Single(p => p.Phase == MemoryPhases.OptimizerStep);
            // Eight 256×256 fp32 weights: the step's temporary is one of them, not eight.
            Assert.Equal(8 * 4 * 256 * 256, Term(step, MemoryTerms.Gradients));
            Assert.Equal((4 * 256 * 256) + (16 * 256 * 4), Term(step, MemoryTerms.Transients));
        }

        [Theory]
        [InlineData(Optimizer.AdamW, 8)]
        [InlineData(Optimizer.SgdMomentum, 4)]
        [InlineData(Optimizer.Sgd, 0)]
        public void Fp32_training_needs_no_master_copy(Optimizer optimizer, long bytesPerParameter)
        {
            var step = MemoryModel.Estimate(TwoLinears(DType.Float32), Training(16, 1, optimizer)).Phases.Single(p => p.Phase == MemoryPhases.OptimizerStep);
            Assert.Equal(4 * Psi, Term(step, MemoryTerms.Gradients));
            Assert.Equal(bytesPerParameter * Psi, Term(step, MemoryTerms.Optimizer));
        }

        [Fact]
        public void Adam8bit_keeps_two_bytes_plus_a_block_absmax_per_state()
        {
            var states = States(0, Optimizer.Adam8Bit);
            // Per 1024×1024 tensor (AdamW8Bit.StateBytesFor): 2 bytes per element and two fp32 absmax per 2048-element block; no
            // fp32 master copy (AdamW8Bit updates the parameter in its own dtype) and no ZeRO partitioning (it is not sharded).
            Assert.Equal((2 * Psi) + (2 * 4 * (Psi / 2048)), states.Optimizer);
        }

        [Fact]
        public void Frozen_and_quantized_weights_have_no_gradients_or_optimizer_state()
        {
            var model = Model(Layer("Mlp", true,
                new LinearSpec("Up", "up", D("Hidden", 1024), D("Hidden", 1024), false) { Frozen = true },
                new LinearSpec("Mid", "mid", D("Hidden", 1024), D("Hidden", 1024), true) { Quant = new QuantSpec(QuantKind.Int8, 0, false) },
                new LinearSpec("Down", "down", D("Hidden", 1024), D("Hidden", 1024), false)) with { Precision = DType.Float32 });
            var estimate = MemoryModel.Estimate(model, Training(16));
            // Trainable: Down's weight and Mid's bias.
            Assert.Equal((1024 * 1024) + 1024, estimate.TrainableParameterCount);
            var step = estimate.Phases.Single(p => p.Phase == MemoryPhases.OptimizerStep);
            Assert.Equal(4 * ((1024 * 1024) + 1024), Term(step, MemoryTerms.Gradients));
            Assert.Equal(8 * ((1024 * 1024) + 1024), Term(step, MemoryTerms.Optimizer));
        }

        [Fact]
        public void Offloading_the_optimizer_moves_its_state_to_host_ram()
        {
            var scenario = Training(16);
            var onDevice = MemoryModel.Estimate(TwoLinears(), scenario);
            var offloaded = MemoryModel.Estimate(TwoLinears(), scenario with { OffloadOptimizer = true });
            Assert.Equal(0, offloaded.Phases.Sum(p => Term(p, MemoryTerms.Optimizer)));
            // Moments and master weights 12Ψ, fp32 main gradients 4Ψ, the step's one denominator of the largest parameter.
            Assert.Equal((12 * Psi) + (4 * Psi) + (4 * 1024 * 1024), offloaded.HostBytes);
            // On the device the step phase peaks as the fold starts: the bf16 gradients, each sent to the host as it is folded.
            Assert.Equal(2 * Psi, Term(offloaded.Phases.Single(p => p.Phase == MemoryPhases.OptimizerStep), MemoryTerms.Gradients));
            Assert.Equal(0, onDevice.HostBytes);
        }

        [Fact]
        public void Inference_holds_no_gradients_or_optimizer_state()
        {
            var estimate = MemoryModel.Estimate(TwoLinears(), Inference(16));
            Assert.All(estimate.Phases, p => Assert.Equal(0, Term(p, MemoryTerms.Gradients) + Term(p, MemoryTerms.Optimizer)));
            Assert.Equal(new[] { MemoryPhases.Prefill, MemoryPhases.Decode }, estimate.Phases.Select(p => p.Phase));
        }

        internal static long Term(PhasePeak phase, string name) => phase.Terms.Single(t => t.Name == name).Bytes;
    }
}
