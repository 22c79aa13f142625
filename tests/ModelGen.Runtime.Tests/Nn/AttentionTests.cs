using System;
using ModelGen.Nn;
using TorchSharp;
using static TorchSharp.torch;
using static ModelGen.Runtime.Tests.Nn.TensorAssert;

namespace ModelGen.Runtime.Tests.Nn
{
    /// <summary>Structure, validation and training behaviour of <see cref="Attention"/>.</summary>
    public sealed class AttentionTests
    {
        [Theory]
        [InlineData(8, 8)]
        [InlineData(8, 2)]
        [InlineData(8, 1)]
        public void Output_has_the_input_shape(long heads, long kvHeads)
        {
            using var attention = new Attention(64, heads, kvHeads);
            var y = attention.call(Randn(1, 3, 5, 64));
            Assert.Equal(new long[] { 3, 5, 64 }, y.shape);
            Assert.Equal(8, attention.HeadDim);
            Assert.Equal(heads, attention.Heads);
            Assert.Equal(kvHeads, attention.KvHeads);
        }

        [Fact]
        public void State_dict_holds_the_four_projections()
        {
            using var plain = new Attention(32, 4, 2, rotary: true);
            Assert.Equal(Sorted("q_proj.weight", "k_proj.weight", "v_proj.weight", "o_proj.weight"), SortedKeys(plain));

            using var biased = new Attention(32, 4, 2, bias: true);
            Assert.Equal(
                Sorted("q_proj.weight", "q_proj.bias", "k_proj.weight", "k_proj.bias", "v_proj.weight", "v_proj.bias", "o_proj.weight", "o_proj.bias"),
                SortedKeys(biased));
        }

        [Theory]
        [InlineData(64, 8, 8, false)]
        [InlineData(64, 8, 2, false)]
        [InlineData(64, 8, 1, false)]
        [InlineData(64, 8, 8, true)]
        [InlineData(64, 8, 2, true)]
        [InlineData(64, 8, 1, true)]
        public void Parameter_count_is_the_closed_form(long hidden, long heads, long kvHeads, bool bias)
        {
            using var attention = new Attention(hidden, heads, kvHeads, bias: bias);
            long d = hidden / heads;
            // q and o: hidden × heads·d each; k and v: hidden × kvHeads·d each; biases: heads·d + 2·kvHeads·d + hidden.
            long expected = 2 * hidden * heads * d + 2 * hidden * kvHeads * d + (bias ? heads * d + 2 * kvHeads * d + hidden : 0);
            Assert.Equal(expected, ParameterCount(attention));
        }

        [Fact]
        public void Projection_shapes_follow_heads_and_kv_heads()
        {
            using var attention = new Attention(48, 6, 2);
            Assert.Equal(new long[] { 48, 48 }, attention.q_proj.weight.shape);
            Assert.Equal(new long[] { 16, 48 }, attention.k_proj.weight.shape);
            Assert.Equal(new long[] { 16, 48 }, attention.v_proj.weight.shape);
            Assert.Equal(new long[] { 48, 48 }, attention.o_proj.weight.shape);
        }

        [Theory]
        [InlineData(ScalarType.BFloat16, true)]
        [InlineData(ScalarType.BFloat16, false)]
        [InlineData(ScalarType.Float64, true)]
        public void Weights_and_output_use_the_requested_dtype(ScalarType dtype, bool fused)
        {
            using var attention = new Attention(32, 4, 2, rotary: true, fused: fused, dtype: dtype);
            foreach (var p in attention.parameters()) Assert.Equal(dtype, p.dtype);
            var y = attention.call(Randn(2, 2, 3, 32).to(dtype));
            Assert.Equal(dtype, y.dtype);
        }

        [Fact]
        public void Module_to_converts_projections_and_rotary_follows()
        {
            using var attention = new Attention(32, 4, 2, rotary: true);
            var x = Randn(8, 1, 5, 32);
            var before = attention.call(x);

            attention.to(ScalarType.Float64);

            foreach (var p in attention.parameters()) Assert.Equal(ScalarType.Float64, p.dtype);
            var after = attention.call(x.to(ScalarType.Float64));
            Assert.Equal(ScalarType.Float64, after.dtype);
            Close(after, before, atol: 1e-5);
        }

        [Theory]
        [InlineData(true, false)]
        [InlineData(false, false)]
        [InlineData(true, true)]
        [InlineData(false, true)]
        public void Gradients_reach_every_parameter(bool fused, bool bias)
        {
            // Rotary makes the key bias position dependent; without it softmax cancels the key bias exactly and its gradient is zero.
            using var attention = new Attention(32, 4, 2, rotary: true, fused: fused, bias: bias);
            attention.call(Randn(3, 2, 6, 32)).sum().backward();
            AllGradientsNonZero(attention);
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public void Dropout_acts_in_training_only(bool fused)
        {
            using var dropping = new Attention(32, 4, 4, fused: fused, dropout: 0.5);
            using var plain = new Attention(32, 4, 4, fused: fused);
            plain.load_state_dict(dropping.state_dict());
            var x = Randn(4, 2, 8, 32);

            dropping.train();
            Assert.True(MaxDifference(plain.call(x), dropping.call(x)) > 1e-3, "dropout 0.5 left the training output unchanged");
            dropping.eval();
            Close(plain.call(x), dropping.call(x), atol: 1e-6);
        }

        [Fact]
        public void Sizes_that_do_not_divide_throw_naming_the_values()
        {
            var heads = Assert.Throws<ArgumentException>(() => new Attention(30, 4, 4));
            Assert.Contains("30", heads.Message);
            Assert.Contains("heads = 4", heads.Message);

            var kv = Assert.Throws<ArgumentException>(() => new Attention(48, 6, 4));
            Assert.Contains("heads = 6", kv.Message);
            Assert.Contains("kvHeads = 4", kv.Message);

            Assert.Contains("kvHeads = 0", Assert.Throws<ArgumentException>(() => new Attention(48, 6, 0)).Message);
            Assert.Contains("1", Assert.Throws<ArgumentException>(() => new Attention(48, 6, 6, dropout: 1)).Message);
            Assert.Contains("-0.1", Assert.Throws<ArgumentException>(() => new Attention(48, 6, 6, dropout: -0.1)).Message);
            // 18 / 6 = 3 features per head cannot be rotated in pairs.
            Assert.Contains("3", Assert.Throws<ArgumentException>(() => new Attention(18, 6, 6, rotary: true)).Message);
        }

        [Fact]
        public void Wrong_input_shapes_throw_with_the_shape()
        {
            using var attention = new Attention(32, 4, 2);
            Assert.Contains("[2, 5, 16]", Assert.Throws<ArgumentException>(() => attention.call(torch.zeros(2, 5, 16))).Message);
            Assert.Contains("[5, 32]", Assert.Throws<ArgumentException>(() => attention.call(torch.zeros(5, 32))).Message);

            var q = torch.zeros(1, 4, 5, 8);
            var kvNotRepeated = torch.zeros(1, 2, 5, 8);
            Assert.Contains("[1, 2, 5, 8]", Assert.Throws<ArgumentException>(() => attention.Core(q, kvNotRepeated, kvNotRepeated)).Message);
            Assert.Contains("[1, 4, 5, 7]", Assert.Throws<ArgumentException>(() => attention.Core(q, q, torch.zeros(1, 4, 5, 7))).Message);
        }
    }
}
