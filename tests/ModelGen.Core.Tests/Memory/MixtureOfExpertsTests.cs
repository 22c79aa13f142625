using System;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>The mixture-of-experts terms (docs/moe.md): parameters, saved activations per routed row, capacity bounds.</summary>
    public sealed class MixtureOfExpertsTests
    {
        /// <summary>
        /// Mixtral 8x7B (Jiang et al. 2024, Table 1; Hugging Face config): 32 layers, 4096 wide, 32 heads, 8 KV heads, 8 SwiGLU experts
        /// of 14336, top-2, 32000 tokens, untied head.
        /// </summary>
        public static ModelSpec Mixtral8x7B(DType precision = DType.BFloat16)
        {
            var root = Layer("Mixtral", true,
                new EmbeddingSpec("Embed", "embed_tokens", D("Vocab", 32000), D("Hidden", 4096)),
                new StackSpec("Blocks", "layers", D("Layers", 32), "global::Demo.MixtralBlock", 0),
                new RmsNormSpec("Norm", "norm", D("Hidden", 4096), 1e-5),
                new LinearSpec("Head", "lm_head", D("Hidden", 4096), D("Vocab", 32000), false)) with { Precision = precision };
            var block = Layer("MixtralBlock", false,
                new RmsNormSpec("AttnNorm", "input_layernorm", D("Hidden", 4096), 1e-5),
                new AttentionSpec("Attn", "self_attn", D("Hidden", 4096), D("Heads", 32), D("KvHeads", 8), true, true, 1e6, true, false, 0),
                new RmsNormSpec("MoeNorm", "post_attention_layernorm", D("Hidden", 4096), 1e-5),
                Moe(4096, 14336, 8, 2) with { StateName = "block_sparse_moe" });
            return Model(root, block);
        }

        private static MixtureOfExpertsSpec Moe(long hidden, long inner, long experts, long topK, FeedForwardActivation activation = FeedForwardActivation.SwiGlu, double capacity = 0) =>
            new("Moe", "moe", D("Hidden", hidden), D("Ffn", inner), D("Experts", experts), D("TopK", topK), activation, capacity);

        [Fact]
        public void Mixtral_8x7B_has_46702792704_parameters()
        {
            // Per layer: attention 2·4096² + 2·1024·4096, two norms, router 8·4096, experts 8 · 3 · 4096 · 14336; plus embeddings,
            // head and the final norm: 46.7 B, as Mistral AI states.
            const long layer = (2 * 4096L * 4096) + (2 * 1024L * 4096) + (2 * 4096) + (8 * 4096) + (8 * 3 * 4096L * 14336);
            const long expected = (32 * layer) + (2 * 32000L * 4096) + 4096;
            Assert.Equal(46_702_792_704, expected);
            var estimate = MemoryModel.Estimate(Mixtral8x7B(), Training(4096));
            Assert.Equal(expected, estimate.ParameterCount);
            Assert.Equal(expected, estimate.TrainableParameterCount);
        }

        [Fact]
        public void Each_expert_is_its_own_tensor_as_the_module_registers_it()
        {
            var tensors = BlockParameters.Of(Moe(64, 128, 4, 2), DType.Float32, 1);
            Assert.Equal(new[] { "gate.weight", "experts.0.w1.weight", "experts.0.w3.weight", "experts.0.w2.weight" }, tensors.Take(4).Select(t => t.Name));
            Assert.Equal(1 + (4 * 3), tensors.Count);
            Assert.Equal(1 + (4 * 2), BlockParameters.Of(Moe(64, 128, 4, 2, FeedForwardActivation.Gelu), DType.Float32, 1).Count);
        }

        [Fact]
        public void Training_saves_the_router_and_top_k_rows_through_the_experts()
        {
            const long b = 2, s = 16, h = 64, i = 128, e = 4, k = 2, d = 2;
            const long t = b * s, r = k * t;
            var pass = new Pass(b, s, s, 1, true, DeviceProfile.Cuda);
            var created = BlockForward.Of(Moe(h, i, e, k), (int)d, pass, h, false);
            var saved = created.Where(c => c.Saved).Sum(c => c.Bytes);
            // input · d, probabilities fp32, top-k values fp32 + indices int64, their sum fp32, sort order + token of row int64,
            // routed rows · d, row weights · d, SwiGLU (w1 out, silu out, w3 out, product) · d, expert outputs and weighted outputs · d,
            // the load-balancing route fractions.
            var expected = (t * h * d) + (t * e * 4) + (t * k * (4 + 8)) + (t * 4) + (r * 8 * 2) + (r * h * d) + (r * d) + (4 * r * i * d) + (2 * r * h * d) + (e * 4);
            Assert.Equal(expected, saved);
            // A 16-bit router casts its logits to fp32 for the softmax: a temporary, not saved.
            Assert.Contains(created, c => !c.Saved && c.Name.Contains("cast to fp32", StringComparison.Ordinal) && c.Bytes == t * e * 4);
        }

        [Fact]
        public void Dropless_activations_grow_with_top_k_not_with_the_number_of_experts()
        {
            var pass = new Pass(4, 32, 32, 1, true, DeviceProfile.Cuda);
            long Saved(long experts, long topK) => BlockForward.Of(Moe(64, 128, experts, topK), 4, pass, 64, false).Where(c => c.Saved).Sum(c => c.Bytes);
            const long t = 4 * 32;
            // One more choice per token adds a routed row per token: its gather, SwiGLU, output and weighted output, weight, indices
            // and top-k entry.
            Assert.Equal(t * ((64 * 4) + (4 * 128 * 4) + (2 * 64 * 4) + 4 + (2 * 8) + 4 + 8), Saved(8, 3) - Saved(8, 2));
            // More experts only widen the router's probabilities (and the load-balancing fractions).
            Assert.Equal((t * 8 * 4) + (8 * 4), Saved(16, 2) - Saved(8, 2));
        }

        [Fact]
        public void A_capacity_factor_bounds_the_routed_rows_by_every_expert_full()
        {
            var moe = Moe(64, 128, 8, 2, capacity: 0.5);
            // C = ceil(0.5 · 100 · 2 / 8) = 13 rows per expert; 8 experts take at most 104 of the 200 routes.
            Assert.Equal(13, MixtureOfExpertsTerms.Capacity(moe, 100));
            Assert.Equal(104, MixtureOfExpertsTerms.RoutedRows(moe, 100));
            Assert.Equal(200, MixtureOfExpertsTerms.RoutedRows(moe with { CapacityFactor = 1.25 }, 100));
            Assert.Equal(200, MixtureOfExpertsTerms.RoutedRows(moe with { CapacityFactor = 0 }, 100));
            Assert.Equal(100, MixtureOfExpertsTerms.LargestExpertRows(moe with { CapacityFactor = 0 }, 100));
            Assert.Equal(13, MixtureOfExpertsTerms.LargestExpertRows(moe, 100));
        }

        [Fact]
        public void Inference_keeps_only_the_largest_experts_activations_and_saves_nothing()
        {
            var pass = new Pass(1, 64, 64, 1, false, DeviceProfile.Cuda);
            var created = BlockForward.Of(Moe(64, 128, 8, 2), 2, pass, 64, false);
            Assert.DoesNotContain(created, c => c.Saved);
            // Worst case for one expert: all 64 tokens; its four SwiGLU intermediates.
            Assert.Equal(4 * 64 * 128 * 2, created.Where(c => c.Name.StartsWith("largest expert's w", StringComparison.Ordinal) || c.Name.StartsWith("largest expert's silu", StringComparison.Ordinal)).Sum(c => c.Bytes));
        }

        [Theory]
        [InlineData(9, 0.0, "top-k = TopK (9) must not exceed the experts = Experts (8)")]
        [InlineData(2, -1.0, "capacity factor (-1)")]
        public void The_estimate_refuses_a_block_the_runtime_refuses(long topK, double capacity, string message)
        {
            var model = Mixtral8x7B();
            var block = model.Layers.Single(l => l.Name == "MixtralBlock");
            var bad = block with { Blocks = block.Blocks.Select(b => b is MixtureOfExpertsSpec m ? m with { TopK = D("TopK", topK), CapacityFactor = capacity } : b).ToEquatableArray() };
            var error = Assert.Throws<ArgumentException>(() => MemoryModel.Estimate(Model(model.Root, bad), Training(128)));
            Assert.Contains(message, error.Message, StringComparison.Ordinal);
        }
    }
}
