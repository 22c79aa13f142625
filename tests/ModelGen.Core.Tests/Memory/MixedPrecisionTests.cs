using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>
    /// Mixed precision (<c>[Precision(DType.Float32, Compute = DType.BFloat16)]</c>, docs/precision.md): activation bytes follow the
    /// dtype autograd really keeps. A Linear keeps a 16-bit cast of its input and a 16-bit copy of its weight (AutocastLinear);
    /// LayerNorm keeps its fp32 input and fp32 statistics; an op on a Linear output keeps 16-bit tensors; parameters and
    /// gradients stay fp32 and AdamW needs no master copy.
    /// </summary>
    public sealed class MixedPrecisionTests
    {
        private const long Hidden = 64, Ffn = 256, Seq = 128, Batch = 4, Tokens = Seq * Batch;
        private static readonly ScenarioSpec Training = new(80, Workload.Training, Seq, Batch, Optimizer.AdamW);

        /// <summary>x + Down(gelu(Up(Norm(x)))), as the forward analysis describes it (gelu's tensors 16-bit, the sum fp32).</summary>
        private static LayerSpec Mlp(DType storage, DType? compute)
        {
            var ffn = D("Ffn", Ffn);
            var hidden = D("Hidden", Hidden);
            ForwardTensor Tensor(string name, ForwardElement element, Dim width) =>
                new(name, EquatableArray.Create(width), EquatableArray<Dim>.Empty, 1, 1, element, false);
            var gelu = new ForwardOp("functional.gelu", EquatableArray.Create(Tensor("gelu input", ForwardElement.Compute, ffn)),
                EquatableArray.Create(Tensor("gelu output", ForwardElement.Compute, ffn)), false, EquatableArray<Dim>.Empty);
            var add = new ForwardOp("operator +", EquatableArray<ForwardTensor>.Empty,
                EquatableArray.Create(Tensor("sum", compute is null ? ForwardElement.Compute : ForwardElement.Float32, hidden)), false, EquatableArray<Dim>.Empty);
            return Layer("AmpMlp", true,
                new LayerNormSpec("Norm", "norm", hidden, 1e-5, true),
                new LinearSpec("Up", "up", hidden, ffn, true),
                new LinearSpec("Down", "down", ffn, hidden, false) { Head = HeadKind.None })
                with
                {
                    Precision = storage,
                    Compute = compute,
                    Body = new ForwardBody(EquatableArray.Create(new ForwardCall("Norm", null), new ForwardCall("Up", null), new ForwardCall(null, gelu),
                        new ForwardCall("Down", null), new ForwardCall(null, add))),
                };
        }

        private static MemoryEstimate Estimate(LayerSpec root, ScenarioSpec? scenario = null) =>
            MemoryModel.Estimate(Model(root), scenario ?? Training, DeviceProfile.Cpu);

        private static long Term(MemoryEstimate estimate, string phase, string term) =>
            estimate.Phases.Single(p => p.Phase == phase).Terms.Single(t => t.Name == term).Bytes;

        [Fact]
        public void Each_saved_tensor_is_counted_at_the_dtype_autograd_keeps()
        {
            var layer = Estimate(Mlp(DType.Float32, DType.BFloat16)).Layers.Single();
            long Saved(string block, string tensor) => layer.SavedTensors.Single(t => t.Block == block && t.Tensor == tensor).Bytes;

            Assert.Equal(Tokens * Hidden * 4, Saved("Norm", "input"));                        // layer_norm runs in fp32
            Assert.Equal(2 * Tokens * 4, Saved("Norm", "mean and rstd (fp32)"));
            Assert.Equal(Tokens * Hidden * 2, Saved("Up", "input cast to 16-bit"));            // the bf16 copy mm keeps
            Assert.Equal(Hidden * Ffn * 2, Saved("Up", "weight cast to 16-bit (kept for backward)"));
            Assert.Equal(Tokens * Ffn * 2, Saved("functional.gelu", "gelu input"));            // Up's bf16 output
            Assert.Equal(Tokens * Ffn * 2, Saved("Down", "input cast to 16-bit"));
            Assert.Equal(Ffn * Hidden * 2, Saved("Down", "weight cast to 16-bit (kept for backward)"));
            var expected = Tokens * Hidden * 4 + 2 * Tokens * 4 + Tokens * Hidden * 2 + Hidden * Ffn * 2 + 2 * Tokens * Ffn * 2 + Ffn * Hidden * 2;
            Assert.Equal(expected, layer.ActivationBytes);
            Assert.Equal(layer.SavedTensors.Sum(t => t.Bytes), layer.ActivationBytes);
        }

        [Fact]
        public void Mixed_precision_keeps_fp32_weights_and_gradients_and_needs_no_master_copy()
        {
            var mixed = Estimate(Mlp(DType.Float32, DType.BFloat16));
            var fp32 = Estimate(Mlp(DType.Float32, null));
            var bf16 = Estimate(Mlp(DType.BFloat16, null));
            var parameters = 2 * Hidden + (Hidden * Ffn + Ffn) + Ffn * Hidden;
            Assert.Equal(parameters, mixed.ParameterCount);
            foreach (var phase in new[] { MemoryPhases.Backward, MemoryPhases.OptimizerStep })
            {
                Assert.Equal(parameters * 4, Term(mixed, phase, MemoryTerms.Weights));
                Assert.Equal(Term(fp32, phase, MemoryTerms.Weights), Term(mixed, phase, MemoryTerms.Weights));
            }
            Assert.Equal(Term(fp32, MemoryPhases.OptimizerStep, MemoryTerms.Optimizer), Term(mixed, MemoryPhases.OptimizerStep, MemoryTerms.Optimizer));
            // Pure bf16 parameters need an fp32 master copy (4 B/param) on top of AdamW's two moments: mixed precision does not.
            Assert.True(Term(bf16, MemoryPhases.OptimizerStep, MemoryTerms.Optimizer) > Term(mixed, MemoryPhases.OptimizerStep, MemoryTerms.Optimizer));
        }

        [Fact]
        public void Mixed_precision_saves_less_than_fp32_and_more_than_pure_bf16_activations()
        {
            var mixed = Estimate(Mlp(DType.Float32, DType.BFloat16)).Layers.Single().ActivationBytes;
            var fp32 = Estimate(Mlp(DType.Float32, null)).Layers.Single().ActivationBytes;
            var bf16 = Estimate(Mlp(DType.BFloat16, null)).Layers.Single().ActivationBytes;
            // fp32: norm input, stats, Up input, gelu input and Down input at 4 bytes.
            Assert.Equal(Tokens * Hidden * 4 + 2 * Tokens * 4 + Tokens * Hidden * 4 + 2 * Tokens * Ffn * 4, fp32);
            Assert.True(mixed < fp32, $"{mixed} < {fp32}");
            Assert.True(mixed > bf16, $"{mixed} > {bf16}"); // the fp32 norm input and the weight copies
        }

        [Fact]
        public void In_inference_the_weight_copies_are_temporaries_not_saved_tensors()
        {
            var inference = new ScenarioSpec(80, Workload.Inference, Seq, Batch, Optimizer.AdamW);
            var mixed = Estimate(Mlp(DType.Float32, DType.BFloat16), inference);
            Assert.Equal(0, mixed.Layers.Single().ActivationBytes);
            var transients = mixed.Phases.Single(p => p.Phase == MemoryPhases.Prefill).Terms.Single(t => t.Name == MemoryTerms.Transients).Bytes;
            Assert.True(transients >= Hidden * Ffn * 2, $"the 16-bit weight copy ({Hidden * Ffn * 2} B) is alive while its Linear runs; transients {transients}");
        }

        [Fact]
        public void Pooler_quantized_and_sharded_blocks_do_not_run_under_mixed_precision()
        {
            Assert.Null(AutocastForward.Unsupported(new LinearSpec("L", "l", D("H", 4), D("H", 4), true)));
            Assert.Null(AutocastForward.Unsupported(new LayerNormSpec("N", "n", D("H", 4), 1e-5, true)));
            Assert.Null(AutocastForward.Unsupported(new FeedForwardSpec("F", "f", D("H", 4), D("F", 8), FeedForwardActivation.Gelu, true)));
            Assert.Null(AutocastForward.Unsupported(new AttentionSpec("A", "a", D("H", 4), D("N", 2), D("N", 2), true, false, 10000, true, false, 0)));
            Assert.NotNull(AutocastForward.Unsupported(new FeedForwardSpec("F", "f", D("H", 4), D("F", 8), FeedForwardActivation.Gelu, true) { Quant = new QuantSpec(QuantKind.Int8, 0, false) }));
            Assert.NotNull(AutocastForward.Unsupported(new FeedForwardSpec("F", "f", D("H", 4), D("F", 8), FeedForwardActivation.Gelu, true) { Shard = ShardStyle.Column }));
            Assert.NotNull(AutocastForward.Unsupported(new PoolerSpec("P", "p", D("H", 4))));
            Assert.NotNull(AutocastForward.Unsupported(new LinearSpec("L", "l", D("H", 4), D("H", 4), true) { Quant = new QuantSpec(QuantKind.Int8, 0, false) }));
        }

        [Fact]
        public void Encoder_decoder_and_mixture_of_experts_blocks_are_refused_rather_than_run_in_fp32()
        {
            Assert.NotNull(AutocastForward.Unsupported(new CrossAttentionSpec("C", "c", D("H", 4), D("N", 2), true, true, false, 0)));
            Assert.NotNull(AutocastForward.Unsupported(new RelativeAttentionSpec("R", "r", D("H", 4), D("N", 2), false, 32, 128, false, false, 0)));
            Assert.NotNull(AutocastForward.Unsupported(new MixtureOfExpertsSpec("M", "m", D("H", 4), D("F", 8), D("E", 4), D("K", 2), FeedForwardActivation.SwiGlu, 0)));
        }
    }
}
