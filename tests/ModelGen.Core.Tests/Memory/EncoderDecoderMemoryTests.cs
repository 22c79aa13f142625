using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>
    /// Parameter and activation terms of [CrossAttention] and [RelativeAttention] (docs/encoder-decoder.md), each computed here from the
    /// op sequence of the runtime modules, and checked against what the memory model sums.
    /// </summary>
    public class EncoderDecoderMemoryTests
    {
        private const long H = 64, A = 4, Buckets = 32, MaxDistance = 128;

        private static CrossAttentionSpec Cross(bool fused = true, bool scaled = true, double dropout = 0) =>
            new("Cross", "cross", D("Hidden", H), D("Heads", A), scaled, fused, Bias: false, dropout);

        private static RelativeAttentionSpec Relative(bool causal, double dropout = 0) =>
            new("Attn", "attn", D("Hidden", H), D("Heads", A), causal, Buckets, MaxDistance, Scaled: false, Bias: false, dropout);

        private static long Sum(System.Collections.Generic.IEnumerable<Created> list, bool saved) => list.Where(c => c.Saved == saved).Sum(c => c.Bytes);

        [Fact]
        public void Parameters_are_four_square_projections_and_the_bias_table()
        {
            var cross = BlockParameters.Of(Cross() with { }, DType.Float32, 1);
            Assert.Equal(4 * H * H, cross.Sum(p => p.Elements));
            var biased = BlockParameters.Of(new CrossAttentionSpec("C", "c", D("Hidden", H), D("Heads", A), true, true, Bias: true, 0), DType.BFloat16, 1);
            Assert.Equal((4 * H * H) + (4 * H), biased.Sum(p => p.Elements));
            Assert.Equal(((4 * H * H) + (4 * H)) * 2, biased.Sum(p => p.StoredBytes));
            var relative = BlockParameters.Of(Relative(causal: false), DType.Float32, 1);
            Assert.Equal((4 * H * H) + (Buckets * A), relative.Sum(p => p.Elements));
            Assert.Contains(relative, p => p.Name == "relative_attention_bias.weight" && p.Elements == Buckets * A && p.Trainable);
        }

        [Theory]
        [InlineData(true, true)]
        [InlineData(true, false)]
        [InlineData(false, true)]
        public void Cross_attention_keys_and_values_are_sized_in_the_encoder_length(bool fused, bool scaled)
        {
            // 5 decoder positions attend to 11 encoder positions (a pass's keys are the encoder's length).
            const long b = 2, sq = 5, sk = 11;
            const int d = 4;
            var pass = new Pass(b, sq, sk, 1, training: true, DeviceProfile.Cpu);
            var list = BlockForward.Of(Cross(fused, scaled), d, pass, 0, selective: false);
            long q = b * sq * H * d, kv = b * sk * H * d;
            Assert.Equal(kv, list.Single(c => c.Name.StartsWith("encoder output", System.StringComparison.Ordinal)).Bytes);
            Assert.Equal(kv, list.Single(c => c.Name.StartsWith("k (", System.StringComparison.Ordinal)).Bytes);
            Assert.Equal(kv, list.Single(c => c.Name.StartsWith("v (", System.StringComparison.Ordinal)).Bytes);
            long scores = b * A * sq * sk;
            long expectedSaved = fused
                // input, encoder output, q, k, v, attention output, fp32 log-sum-exp, context
                ? q + kv + q + kv + kv + q + (b * A * sq * 4) + q
                // input, encoder output, q, k, v, fp32 softmax output, context
                : q + kv + q + kv + kv + (scores * d) + q;
            Assert.Equal(expectedSaved, Sum(list, saved: true));
            if (fused)
                Assert.DoesNotContain(list, c => c.Bytes == scores * d); // the fused kernel keeps no decoder × encoder scores
        }

        [Theory]
        [InlineData(false, DType.Float32)]
        [InlineData(true, DType.Float32)]
        [InlineData(false, DType.BFloat16)]
        [InlineData(true, DType.BFloat16)]
        public void Relative_attention_keeps_the_s_squared_terms_of_the_eager_core_and_the_bucket_indices(bool causal, DType dtype)
        {
            const long b = 3, s = 40;
            var d = Sizes.Of(dtype);
            var training = BlockForward.Of(Relative(causal), d, new Pass(b, s, s, 1, true, DeviceProfile.Cpu), 0, selective: false);
            long x = b * s * H * d, scores = b * A * s * s;
            // input, q, k, v, int64 bucket indices, softmax output (in the activation dtype), context
            Assert.Equal(x + (3 * x) + (8 * s * s) + (scores * d) + x, Sum(training, saved: true));

            // The peak of the freed-early tensors: bias rows [A, s, s], the biased scores, the fp32 working copy, and the largest of
            // the causal mask, the row statistics and (16-bit) the cast probabilities; or q kᵀ beside the biased scores; or the bucketing.
            long rows = A * s * s * d;
            long softmax = rows + (scores * d) + (scores * 4) + System.Math.Max(System.Math.Max(causal ? s * s : 0, b * A * s * 4), d < 4 ? scores * d : 0);
            long adding = rows + (2 * scores * d);
            long bucketing = (EncoderDecoderTerms.BucketBytesPerPair(!causal) * s * s) + (2 * s * 8);
            long after = System.Math.Max(rows + x, 2 * x);
            Assert.Equal(System.Math.Max(System.Math.Max(softmax, adding), System.Math.Max(bucketing, after)), Sum(training, saved: false));

            // Inference saves nothing; its temporaries are q, k, v, the context and the same peak.
            var inference = BlockForward.Of(Relative(causal), d, new Pass(b, s, s, 1, false, DeviceProfile.Cpu), 0, selective: false);
            Assert.Equal(0, Sum(inference, saved: true));
        }

        [Fact]
        public void A_T5_model_counts_its_parameters_and_its_activations_grow_with_the_square_of_the_sequence()
        {
            var encoder = Layer("Enc", false,
                new RmsNormSpec("AttnNorm", "attn_norm", D("Hidden", H), 1e-6), Relative(causal: false),
                new RmsNormSpec("MlpNorm", "mlp_norm", D("Hidden", H), 1e-6), new FeedForwardSpec("Mlp", "mlp", D("Hidden", H), D("Ffn", 4 * H), FeedForwardActivation.Relu, false));
            var decoder = Layer("Dec", false,
                new RmsNormSpec("SelfNorm", "self_norm", D("Hidden", H), 1e-6), Relative(causal: true) with { Name = "SelfAttn", StateName = "self_attn" },
                new RmsNormSpec("CrossNorm", "cross_norm", D("Hidden", H), 1e-6), Cross(scaled: false),
                new RmsNormSpec("MlpNorm", "mlp_norm", D("Hidden", H), 1e-6), new FeedForwardSpec("Mlp", "mlp", D("Hidden", H), D("Ffn", 4 * H), FeedForwardActivation.Relu, false));
            var root = Layer("T5", true,
                new EmbeddingSpec("Shared", "shared", D("Vocab", 100), D("Hidden", H)),
                new StackSpec("Encoder", "encoder", D("Layers", 2), "global::Demo.Enc", 0),
                new RmsNormSpec("EncoderNorm", "encoder_norm", D("Hidden", H), 1e-6),
                new StackSpec("Decoder", "decoder", D("Layers", 2), "global::Demo.Dec", 0),
                new RmsNormSpec("DecoderNorm", "decoder_norm", D("Hidden", H), 1e-6),
                new LinearSpec("LmHead", "lm_head", D("Hidden", H), D("Vocab", 100), false) { Head = HeadKind.LanguageModel });
            var model = Model(root, encoder, decoder);
            var estimate = MemoryModel.Estimate(model, Training(64, 2), DeviceProfile.Cpu);
            long attention = 4 * H * H, ffn = 2 * H * 4 * H;
            long expected = (100 * H) + (2 * (H + attention + (Buckets * A) + H + ffn)) + H + (2 * (H + attention + (Buckets * A) + H + attention + H + ffn)) + H + (H * 100);
            Assert.Equal(expected, estimate.ParameterCount);

            // Doubling the sequence: the per-layer saved s² terms (softmax outputs, bucket indices) grow 4×, the rest 2×.
            var decoderLayer = (System.Func<long, long>)(seq => MemoryModel.Estimate(model, Training(seq, 2), DeviceProfile.Cpu).Layers.Single(l => l.LayerType == "Dec").ActivationBytes);
            // Self-attention's softmax output and bucket indices; the fused cross-attention keeps no decoder × encoder scores.
            long Square(long seq) => (2 * A * seq * seq * 4) + (8 * seq * seq);
            Assert.Equal(2 * (decoderLayer(64) - Square(64)), decoderLayer(128) - Square(128));
        }
    }
}
