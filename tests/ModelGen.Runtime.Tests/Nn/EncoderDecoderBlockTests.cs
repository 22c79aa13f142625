using System;
using System.Linq;
using ModelGen.Nn;
using TorchSharp;
using static TorchSharp.torch;
using static ModelGen.Runtime.Tests.Nn.TensorAssert;

namespace ModelGen.Runtime.Tests.Nn
{
    /// <summary><see cref="RelativePositionBias"/>, <see cref="RelativeAttention"/> and <see cref="CrossAttention"/> against torch-op references.</summary>
    public sealed class EncoderDecoderBlockTests
    {
        [Theory]
        [InlineData(32, true, 128)]
        [InlineData(32, false, 128)]
        [InlineData(8, true, 16)]
        [InlineData(5, false, 7)]
        [InlineData(4, true, 3)]
        public void Buckets_follow_T5s_formula_at_every_offset(long buckets, bool bidirectional, long maxDistance)
        {
            using var offsets = arange(-300L, 301L, dtype: ScalarType.Int64);
            using var actual = RelativePositionBias.Bucket(offsets, buckets, bidirectional, maxDistance);
            var expected = Enumerable.Range(-300, 601).Select(o => EncoderDecoderReference.Bucket(o, buckets, bidirectional, maxDistance)).ToArray();
            Assert.Equal(expected, actual.data<long>().ToArray());
            Assert.InRange(actual.max().item<long>(), 0, buckets - 1);
            Assert.Equal(-300L, offsets[0].item<long>()); // the public Bucket leaves its input alone
        }

        [Fact]
        public void Buckets_have_T5s_values_at_known_offsets()
        {
            // Two-sided, 32 buckets, 128: 16 per side, 8 exact; 8 + ⌊ln(127/8)/ln(16)·8⌋ = 15; keys after the query add 16.
            using var offsets = tensor(new long[] { 0, -1, 1, -7, -8, -127, -500, 500, 7 });
            using var two = RelativePositionBias.Bucket(offsets, 32, true, 128);
            Assert.Equal(new long[] { 0, 1, 17, 7, 8, 15, 15, 31, 23 }, two.data<long>().ToArray());
            // One-sided, 32 buckets: 16 exact; 16 + ⌊ln(20/16)/ln(8)·16⌋ = 17; later keys are bucket 0.
            using var oneOffsets = tensor(new long[] { -20, 5, -15, -1000 });
            using var one = RelativePositionBias.Bucket(oneOffsets, 32, false, 128);
            Assert.Equal(new long[] { 17, 0, 15, 31 }, one.data<long>().ToArray());
        }

        [Theory]
        [InlineData(false, false)]
        [InlineData(true, false)]
        [InlineData(false, true)]
        [InlineData(true, true)]
        public void Relative_attention_matches_the_reference_in_outputs_and_gradients(bool causal, bool scaled)
        {
            manual_seed(3);
            using var m = new RelativeAttention(32, 4, causal: causal, buckets: 8, maxDistance: 12, scaled: scaled, bias: true);
            var x = Randn(5, 2, 20, 32).requires_grad_(true);
            var weights = Randn(6, 2, 20, 32);
            var actual = m.call(x);
            var actualGrads = EncoderDecoderReference.Gradients(m, actual, weights, x);
            var expected = EncoderDecoderReference.Forward(m, x);
            var expectedGrads = EncoderDecoderReference.Gradients(m, expected, weights, x);
            Close(expected, actual, 1e-5, 1e-5);
            foreach (var (name, grad) in expectedGrads)
                Close(grad, actualGrads[name], 1e-5, 1e-4);
            Assert.True(actualGrads["relative_attention_bias.weight"].abs().max().item<float>() > 0);
        }

        [Theory]
        [InlineData(true, true)]
        [InlineData(true, false)]
        [InlineData(false, true)]
        [InlineData(false, false)]
        public void Cross_attention_matches_the_reference_with_another_encoder_length(bool fused, bool scaled)
        {
            manual_seed(4);
            using var m = new CrossAttention(32, 4, scaled: scaled, fused: fused, bias: true);
            var x = Randn(7, 3, 5, 32).requires_grad_(true);
            var memory = Randn(8, 3, 11, 32).requires_grad_(true);
            var weights = Randn(9, 3, 5, 32);
            var actual = m.call(x, memory);
            Assert.Equal(new long[] { 3, 5, 32 }, actual.shape);
            var actualGrads = EncoderDecoderReference.Gradients(m, actual, weights, x, memory);
            var expected = EncoderDecoderReference.Forward(m, x, memory);
            var expectedGrads = EncoderDecoderReference.Gradients(m, expected, weights, x, memory);
            Close(expected, actual, 1e-5, 1e-5);
            foreach (var (name, grad) in expectedGrads)
                Close(grad, actualGrads[name], 1e-5, 1e-4);
        }

        [Fact]
        public void Remembered_encoder_keys_and_values_give_the_same_output_and_are_forgotten()
        {
            manual_seed(5);
            using var m = new CrossAttention(16, 2);
            m.eval();
            var memory = Randn(1, 2, 9, 16);
            var x = Randn(2, 2, 1, 16);
            using var _ = no_grad();
            var plain = m.call(x, memory);
            using (m.Remember(memory))
            {
                Assert.True(m.RemembersMemory);
                Close(plain, m.call(x, memory), 1e-6);
                // Another memory tensor with other values is not mistaken for the remembered one.
                var other = Randn(3, 2, 9, 16);
                Close(EncoderDecoderReference.Forward(m, x, other), m.call(x, other), 1e-5);
                Assert.Throws<InvalidOperationException>(() => m.Remember(other));
            }
            Assert.False(m.RemembersMemory);
        }

        [Fact]
        public void RememberAll_remembers_in_every_cross_attention_of_a_decoder_stack()
        {
            manual_seed(6);
            using var decoder = new TwoLayerDecoder();
            decoder.eval();
            var stack = decoder.Layers;
            var memory = Randn(10, 2, 7, 16);
            var x = Randn(11, 2, 3, 16);
            using var _ = no_grad();
            Tensor Decode(Tensor h) { foreach (var block in stack) h = h + block.call(h, memory); return h; }
            var plain = Decode(x);
            using (CrossAttention.RememberAll(decoder, memory))
            {
                Assert.All(stack, block => Assert.True(block.RemembersMemory));
                Close(plain, Decode(x), 1e-6);
            }
            Assert.All(stack, block => Assert.False(block.RemembersMemory));
            using var none = new RelativeAttention(16, 2, buckets: 8, maxDistance: 16);
            Assert.Throws<ArgumentException>(() => CrossAttention.RememberAll(none, memory));
        }

        /// <summary>Two cross-attention layers registered in a parent, as a generated decoder stack holds them.</summary>
        private sealed class TwoLayerDecoder : nn.Module
        {
            private readonly TorchSharp.Modules.ModuleList<CrossAttention> _layers;

            public TwoLayerDecoder() : base(nameof(TwoLayerDecoder))
            {
                _layers = new TorchSharp.Modules.ModuleList<CrossAttention>(new CrossAttention(16, 2), new CrossAttention(16, 2, scaled: false, fused: false));
                RegisterComponents();
            }

            public TorchSharp.Modules.ModuleList<CrossAttention> Layers => _layers;
        }

        [Fact]
        public void State_dicts_use_Hugging_Face_T5_style_names()
        {
            using var relative = new RelativeAttention(16, 2, buckets: 8, maxDistance: 16);
            Assert.Equal(Sorted("q_proj.weight", "k_proj.weight", "v_proj.weight", "o_proj.weight", "relative_attention_bias.weight"), SortedKeys(relative));
            Assert.Equal(new long[] { 8, 2 }, relative.relative_attention_bias.weight.shape);
            using var cross = new CrossAttention(16, 2);
            Assert.Equal(Sorted("q_proj.weight", "k_proj.weight", "v_proj.weight", "o_proj.weight"), SortedKeys(cross));
        }

        [Fact]
        public void Bad_sizes_and_inputs_are_refused_with_messages()
        {
            Assert.Contains("at least 4 buckets", Assert.Throws<ArgumentException>(() => new RelativePositionBias(3, 2, true, 16)).Message);
            Assert.Contains("at least 2 buckets", Assert.Throws<ArgumentException>(() => new RelativePositionBias(1, 2, false, 16)).Message);
            Assert.Contains("must exceed", Assert.Throws<ArgumentException>(() => new RelativePositionBias(32, 2, true, 8)).Message);
            Assert.Throws<ArgumentException>(() => new CrossAttention(30, 4));
            using var cross = new CrossAttention(16, 2);
            Assert.Contains("memory", Assert.Throws<ArgumentException>(() => cross.call(Randn(1, 1, 3, 16), Randn(2, 1, 4, 8))).Message);
            Assert.Contains("batch", Assert.Throws<ArgumentException>(() => cross.call(Randn(1, 1, 3, 16), Randn(2, 2, 4, 16))).Message);
        }
    }
}
