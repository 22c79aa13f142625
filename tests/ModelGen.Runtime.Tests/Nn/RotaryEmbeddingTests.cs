using System;
using ModelGen.Nn;
using TorchSharp;
using static TorchSharp.torch;
using static ModelGen.Runtime.Tests.Nn.TensorAssert;

namespace ModelGen.Runtime.Tests.Nn
{
    public sealed class RotaryEmbeddingTests
    {
        [Fact]
        public void Matches_the_pairwise_rotation()
        {
            using var rope = new RotaryEmbedding(16, theta: 10000);
            var x = Randn(30, 2, 3, 12, 16);
            Close(AttentionReference.Rotate(x, 10000, startPosition: 0), rope.Apply(x), atol: 1e-5);
            Close(AttentionReference.Rotate(x, 10000, startPosition: 40), rope.Apply(x, startPosition: 40), atol: 1e-4);
        }

        [Fact]
        public void Position_zero_is_the_identity()
        {
            using var rope = new RotaryEmbedding(8);
            var x = Randn(31, 2, 4, 1, 8);
            Assert.True(x.eq(rope.Apply(x)).all().item<bool>());
        }

        [Fact]
        public void Scores_depend_only_on_relative_position()
        {
            // The same query and key vector at every position: the score between positions m and n is q·R(n−m)k.
            using var rope = new RotaryEmbedding(32, theta: 100);
            var q = Randn(32, 1, 1, 1, 32).expand(1, 1, 10, 32);
            var k = Randn(33, 1, 1, 1, 32).expand(1, 1, 10, 32);

            var scores = rope.Apply(q).matmul(rope.Apply(k).transpose(-2, -1))[0, 0];
            var shifted = rope.Apply(q, startPosition: 7).matmul(rope.Apply(k, startPosition: 7).transpose(-2, -1))[0, 0];

            Close(scores, shifted, atol: 1e-4);
            for (int t = 1; t < 10; t++)
                Close(scores[..(10 - t), ..(10 - t)], scores[t.., t..], atol: 1e-4);
            Assert.True(MaxDifference(scores[0, 0], scores[0, 3]) > 1e-2, "scores do not vary with distance");
        }

        [Theory]
        [InlineData(ScalarType.BFloat16)]
        [InlineData(ScalarType.Float64)]
        public void Keeps_the_input_dtype(ScalarType dtype)
        {
            using var rope = new RotaryEmbedding(8);
            Assert.Equal(dtype, rope.Apply(Randn(34, 1, 2, 5, 8).to(dtype)).dtype);
        }

        [Fact]
        public void Longer_and_shorter_sequences_share_the_table()
        {
            using var rope = new RotaryEmbedding(8);
            var x = Randn(35, 1, 1, 20, 8);
            var shortFirst = rope.Apply(x[.., .., ..5]);
            var longer = rope.Apply(x);
            var shortAgain = rope.Apply(x[.., .., ..5]);
            Close(longer[.., .., ..5], shortFirst, atol: 0);
            Close(shortFirst, shortAgain, atol: 0);
        }

        [Fact]
        public void Bad_arguments_throw_with_the_values()
        {
            Assert.Contains("7", Assert.Throws<ArgumentException>(() => new RotaryEmbedding(7)).Message);
            Assert.Contains("0.5", Assert.Throws<ArgumentException>(() => new RotaryEmbedding(8, theta: 0.5)).Message);
            using var rope = new RotaryEmbedding(8);
            Assert.Contains("[3, 6]", Assert.Throws<ArgumentException>(() => rope.Apply(torch.zeros(3, 6))).Message);
            Assert.Contains("-1", Assert.Throws<ArgumentException>(() => rope.Apply(torch.zeros(3, 8), startPosition: -1)).Message);
        }
    }
}
