using ModelGen.Nn;
using TorchSharp;
using static TorchSharp.torch;
using static ModelGen.Runtime.Tests.Nn.TensorAssert;

namespace ModelGen.Runtime.Tests.Nn
{
    /// <summary>
    /// The eager attention core's softmax node (<c>ScaledMaskedSoftmax</c>: fp32 math, output saved in the scores' dtype, no mask
    /// saved): its forward and its hand-written backward against autograd's own softmax in fp64.
    /// </summary>
    public sealed class EagerSoftmaxTests
    {
        /// <summary>Autograd's softmax over the scaled, masked scores in fp64.</summary>
        private static Tensor Reference(Tensor scores, double scale, bool causal, long window = 0)
        {
            var x = scores.to(ScalarType.Float64) * scale;
            long queries = scores.shape[^2], keys = scores.shape[^1];
            for (long i = 0; i < queries; i++)
            {
                var position = i + keys - queries;
                for (long j = 0; j < keys; j++)
                {
                    if ((causal && j > position) || (window > 0 && j <= position - window))
                        x[.., .., i, j] = double.NegativeInfinity;
                }
            }
            return x.softmax(-1);
        }

        [Theory]
        [InlineData(true, 6, 6)]
        [InlineData(false, 6, 6)]
        [InlineData(true, 3, 7)] // decoding after a prefix: the queries are the last positions
        public void Forward_and_backward_match_autograds_softmax_in_fp64(bool causal, long queries, long keys)
        {
            const double scale = 0.35;
            var scores = Randn(21, 2, 3, queries, keys).requires_grad_(true);
            var reference = scores.detach().clone().requires_grad_(true);
            var upstream = Randn(22, 2, 3, queries, keys);

            var probabilities = ScaledMaskedSoftmax.Apply(scores, scale, causal);
            var expected = Reference(reference, scale, causal);
            Close(expected, probabilities, atol: 1e-6);

            (probabilities * upstream).sum().backward();
            (expected * upstream.to(ScalarType.Float64)).sum().backward();
            Close(reference.grad!, scores.grad!, atol: 1e-6);
        }

        [Theory]
        [InlineData(6, 6, 2)]
        [InlineData(3, 7, 3)]
        [InlineData(5, 5, 9)] // a window longer than the sequence hides nothing
        public void A_sliding_window_hides_keys_more_than_window_minus_one_before_each_query(long queries, long keys, long window)
        {
            var scores = Randn(25, 2, 2, queries, keys).requires_grad_(true);
            var reference = scores.detach().clone().requires_grad_(true);
            var probabilities = ScaledMaskedSoftmax.Apply(scores, 0.5, causal: true, window: window);
            var expected = Reference(reference, 0.5, causal: true, window);
            Close(expected, probabilities, atol: 1e-6);
            var upstream = Randn(26, 2, 2, queries, keys);
            (probabilities * upstream).sum().backward();
            (expected * upstream.to(ScalarType.Float64)).sum().backward();
            Close(reference.grad!, scores.grad!, atol: 1e-6);
        }

        [Fact]
        public void A_windowed_block_is_local_and_refuses_a_bad_window()
        {
            using var attention = new Attention(32, 4, 2, causal: true, fused: true) { SlidingWindow = 3 };
            var x = Randn(27, 1, 8, 32);
            var changed = x.clone();
            changed[0, 0] = Randn(28, 32);
            // Position 0 is outside the window of positions 3 and later.
            Close(attention.call(x)[0, 3..], attention.call(changed)[0, 3..], atol: 1e-6);
            Assert.True(MaxDifference(attention.call(x)[0, 2], attention.call(changed)[0, 2]) > 1e-4, "position 2 should still see position 0");
            Assert.Throws<System.ArgumentException>(() => new Attention(32, 4, 2) { SlidingWindow = 0 });
            Assert.Throws<System.ArgumentException>(() => new Attention(32, 4, 2, causal: false) { SlidingWindow = 4 });
        }

        [Fact]
        public void Bfloat16_scores_give_bfloat16_probabilities_computed_in_fp32()
        {
            var scores = (Randn(23, 1, 2, 64, 64) * 4).to(ScalarType.BFloat16).requires_grad_(true);
            var probabilities = ScaledMaskedSoftmax.Apply(scores, 0.125, causal: true);
            Assert.Equal(ScalarType.BFloat16, probabilities.dtype);
            // fp32 math then one rounding to bf16: within bf16's half unit of the last place of the fp64 result.
            Close(Reference(scores.detach(), 0.125, true), probabilities, atol: 1e-6, rtol: 1.0 / 256);
            probabilities.sum().backward();
            Assert.Equal(ScalarType.BFloat16, scores.grad!.dtype);
            // Each row sums to one, so the gradient of the sum is zero up to bf16 rounding.
            Assert.True(scores.grad!.to(ScalarType.Float32).abs().max().item<float>() < 1e-2f);
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public void Eager_attention_gradients_equal_the_fused_kernels(bool causal)
        {
            using var fused = new Attention(32, 4, 2, causal, rotary: true, fused: true);
            using var eager = new Attention(32, 4, 2, causal, rotary: true, fused: false);
            eager.load_state_dict(fused.state_dict());
            var x = Randn(24, 2, 9, 32);
            var xFused = x.clone().requires_grad_(true);
            var xEager = x.clone().requires_grad_(true);
            fused.call(xFused).square().sum().backward();
            eager.call(xEager).square().sum().backward();
            Close(xFused.grad!, xEager.grad!, atol: 1e-5, rtol: 1e-4);
            foreach (var (name, parameter) in fused.named_parameters())
                Close(parameter.grad!, eager.get_parameter(name)!.grad!, atol: 1e-5, rtol: 1e-4);
        }
    }
}
