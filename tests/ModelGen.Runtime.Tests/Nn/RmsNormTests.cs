using System;
using ModelGen.Nn;
using TorchSharp;
using static TorchSharp.torch;
using static ModelGen.Runtime.Tests.Nn.TensorAssert;

namespace ModelGen.Runtime.Tests.Nn
{
    public sealed class RmsNormTests
    {
        [Fact]
        public void Matches_the_formula_with_a_learned_weight()
        {
            using var norm = new RmsNorm(16, eps: 1e-5);
            using (torch.no_grad()) norm.weight.copy_(Randn(1, 16));
            var x = Randn(2, 3, 5, 16) * 3 + 0.5;

            var y = norm.call(x);

            // y = w · x / sqrt(mean(x²) + eps), in fp64.
            var x64 = x.to(ScalarType.Float64);
            var expected = norm.weight.detach().to(ScalarType.Float64) * x64 / (x64.square().mean(new long[] { -1 }, keepdim: true) + 1e-5).sqrt();
            Close(expected, y, atol: 1e-5, rtol: 1e-5);
        }

        [Fact]
        public void Eps_enters_under_the_square_root()
        {
            // With an input of all zeros but one entry, the scale depends on eps measurably only if eps is used.
            using var small = new RmsNorm(4, eps: 1e-6);
            using var large = new RmsNorm(4, eps: 1.0);
            var x = torch.tensor(new float[] { 1, 0, 0, 0 });

            Close(torch.tensor(new double[] { 1 / Math.Sqrt(0.25 + 1e-6), 0, 0, 0 }), small.call(x), atol: 1e-6);
            Close(torch.tensor(new double[] { 1 / Math.Sqrt(1.25), 0, 0, 0 }), large.call(x), atol: 1e-6);
        }

        [Fact]
        public void Has_one_weight_of_ones_in_the_requested_dtype()
        {
            using var norm = new RmsNorm(8, dtype: ScalarType.BFloat16);

            Assert.Equal(new[] { "weight" }, SortedKeys(norm));
            Assert.Equal(ScalarType.BFloat16, norm.weight.dtype);
            Assert.Equal(new long[] { 8 }, norm.weight.shape);
            Assert.True(norm.weight.to(ScalarType.Float32).eq(1).all().item<bool>());
            Assert.True(norm.weight.requires_grad);
        }

        [Theory]
        [InlineData(ScalarType.Float32)]
        [InlineData(ScalarType.BFloat16)]
        [InlineData(ScalarType.Float16)]
        public void Keeps_the_input_dtype(ScalarType dtype)
        {
            using var norm = new RmsNorm(8, dtype: dtype);
            var y = norm.call(Randn(3, 2, 8).to(dtype));
            Assert.Equal(dtype, y.dtype);
            Assert.Equal(new long[] { 2, 8 }, y.shape);
        }

        [Fact]
        public void Bf16_input_is_normalized_in_fp32()
        {
            const int hidden = 4096;
            using var norm = new RmsNorm(hidden, dtype: ScalarType.BFloat16);
            var x = (Randn(4, 4, hidden) * 20).to(ScalarType.BFloat16);

            var y = norm.call(x);

            // The fp32 computation of the same bf16 input, rounded once to bf16 at the end: bit-identical when the
            // statistics are in fp32, and within bf16's unit roundoff (2^-8 relative: 8 significand bits) of the unrounded fp32 result.
            var x32 = x.to(ScalarType.Float32);
            var reference = x32 * (x32.square().mean(new long[] { -1 }, keepdim: true) + 1e-6).rsqrt();
            Assert.True(reference.to(ScalarType.BFloat16).eq(y).all().item<bool>(), "bf16 output differs from the fp32 result rounded to bf16");
            Close(reference, y, atol: 0, rtol: Math.Pow(2, -8));
        }

        [Fact]
        public void Module_to_converts_the_weight_and_keeps_it_registered()
        {
            using var norm = new RmsNorm(8);
            norm.to(ScalarType.Float64);
            Assert.Equal(ScalarType.Float64, norm.weight.dtype);
            Assert.Equal(ScalarType.Float64, norm.state_dict()["weight"].dtype);
            Assert.Equal(ScalarType.Float64, norm.call(Randn(7, 8).to(ScalarType.Float64)).dtype);
        }

        [Fact]
        public void Gradients_reach_the_weight()
        {
            using var norm = new RmsNorm(8);
            using (torch.no_grad()) norm.weight.copy_(Randn(5, 8));
            var x = Randn(6, 2, 3, 8);

            norm.call(x).sum().backward();

            AllGradientsNonZero(norm);
        }

        [Fact]
        public void Bad_arguments_throw_with_the_values()
        {
            Assert.Contains("hidden = 0", Assert.Throws<ArgumentException>(() => new RmsNorm(0)).Message);
            Assert.Contains("eps = -1", Assert.Throws<ArgumentException>(() => new RmsNorm(4, eps: -1)).Message);
            using var norm = new RmsNorm(4);
            var error = Assert.Throws<ArgumentException>(() => norm.call(torch.zeros(2, 5)));
            Assert.Contains("[2, 5]", error.Message);
        }
    }
}
