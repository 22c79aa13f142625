using System;
using ModelGen.Nn;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static ModelGen.Runtime.Tests.Nn.TensorAssert;

namespace ModelGen.Runtime.Tests.Nn
{
    public sealed class FeedForwardTests
    {
        [Theory]
        [InlineData(FeedForwardActivation.Gelu)]
        [InlineData(FeedForwardActivation.Silu)]
        [InlineData(FeedForwardActivation.SwiGlu)]
        public void Output_has_the_input_shape(FeedForwardActivation activation)
        {
            using var ffn = new FeedForward(16, 40, activation);
            Assert.Equal(new long[] { 2, 3, 16 }, ffn.call(Randn(40, 2, 3, 16)).shape);
            Assert.Equal(new long[] { 16 }, ffn.call(Randn(41, 16)).shape);
        }

        [Fact]
        public void State_dict_keys_follow_the_activation()
        {
            using var gelu = new FeedForward(16, 40, FeedForwardActivation.Gelu);
            Assert.Equal(Sorted("up_proj.weight", "up_proj.bias", "down_proj.weight", "down_proj.bias"), SortedKeys(gelu));

            using var swiglu = new FeedForward(16, 40, FeedForwardActivation.SwiGlu, bias: false);
            Assert.Equal(Sorted("gate_proj.weight", "up_proj.weight", "down_proj.weight"), SortedKeys(swiglu));
            Assert.Equal(3 * 16 * 40, ParameterCount(swiglu));
            Assert.Null(gelu.gate_proj);
        }

        [Fact]
        public void SwiGlu_matches_the_formula_with_its_own_weights()
        {
            using var ffn = new FeedForward(16, 40, FeedForwardActivation.SwiGlu, bias: true);
            var x = Randn(42, 3, 5, 16);

            // down(silu(gate(x)) · up(x)), silu(z) = z · sigmoid(z), in fp64.
            var gate = Linear64(ffn.gate_proj!, x);
            var expected = Linear64(ffn.down_proj, gate * gate.sigmoid() * Linear64(ffn.up_proj, x));
            Close(expected, ffn.call(x), atol: 1e-6, rtol: 1e-5);
        }

        [Fact]
        public void Gelu_is_the_tanh_approximation()
        {
            using var ffn = new FeedForward(16, 40, FeedForwardActivation.Gelu);
            var x = Randn(43, 3, 5, 16);

            // 0.5·z·(1 + tanh(√(2/π)·(z + 0.044715·z³))) (Hendrycks & Gimpel 2016, §2).
            var z = Linear64(ffn.up_proj, x);
            var gelu = 0.5 * z * (1 + (Math.Sqrt(2 / Math.PI) * (z + 0.044715 * z.pow(3))).tanh());
            Close(Linear64(ffn.down_proj, gelu), ffn.call(x), atol: 1e-6, rtol: 1e-5);
        }

        [Fact]
        public void Silu_matches_the_formula()
        {
            using var ffn = new FeedForward(16, 40, FeedForwardActivation.Silu, bias: false);
            var x = Randn(44, 3, 5, 16);
            var z = Linear64(ffn.up_proj, x);
            Close(Linear64(ffn.down_proj, z * z.sigmoid()), ffn.call(x), atol: 1e-6, rtol: 1e-5);
        }

        [Theory]
        [InlineData(FeedForwardActivation.Gelu)]
        [InlineData(FeedForwardActivation.SwiGlu)]
        public void Bf16_dtype_is_honored(FeedForwardActivation activation)
        {
            using var ffn = new FeedForward(16, 40, activation, dtype: ScalarType.BFloat16);
            foreach (var p in ffn.parameters()) Assert.Equal(ScalarType.BFloat16, p.dtype);
            Assert.Equal(ScalarType.BFloat16, ffn.call(Randn(45, 2, 16).to(ScalarType.BFloat16)).dtype);
        }

        [Theory]
        [InlineData(FeedForwardActivation.Gelu)]
        [InlineData(FeedForwardActivation.Silu)]
        [InlineData(FeedForwardActivation.SwiGlu)]
        public void Gradients_reach_every_parameter(FeedForwardActivation activation)
        {
            using var ffn = new FeedForward(16, 40, activation, bias: true);
            ffn.call(Randn(46, 4, 16)).sum().backward();
            AllGradientsNonZero(ffn);
        }

        [Fact]
        public void Dropout_acts_in_training_only()
        {
            using var dropping = new FeedForward(16, 40, dropout: 0.5);
            var x = Randn(47, 8, 16);
            dropping.eval();
            var clean = dropping.call(x);
            dropping.train();
            var dropped = dropping.call(x);

            // Dropped entries are zero; kept ones are scaled by 1 / (1 − p).
            var kept = dropped.ne(0);
            Assert.True(kept.logical_not().any().item<bool>(), "no output was dropped");
            Close(clean.masked_select(kept) * 2, dropped.masked_select(kept), atol: 1e-6, rtol: 1e-6);
        }

        [Fact]
        public void Bad_arguments_throw_with_the_values()
        {
            Assert.Contains("inner = 0", Assert.Throws<ArgumentException>(() => new FeedForward(16, 0)).Message);
            Assert.Contains("1.5", Assert.Throws<ArgumentException>(() => new FeedForward(16, 40, dropout: 1.5)).Message);
            Assert.Contains("7", Assert.Throws<ArgumentException>(() => new FeedForward(16, 40, (FeedForwardActivation)7)).Message);
            using var ffn = new FeedForward(16, 40);
            Assert.Contains("[2, 40]", Assert.Throws<ArgumentException>(() => ffn.call(torch.zeros(2, 40))).Message);
        }

        private static Tensor Linear64(Linear linear, Tensor x)
        {
            var y = x.to(ScalarType.Float64).matmul(linear.weight.detach().to(ScalarType.Float64).t());
            return linear.bias is null ? y : y + linear.bias.detach().to(ScalarType.Float64);
        }
    }
}
