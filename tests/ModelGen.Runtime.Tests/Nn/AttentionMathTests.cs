using ModelGen.Nn;
using TorchSharp;
using static TorchSharp.torch;
using static ModelGen.Runtime.Tests.Nn.TensorAssert;

namespace ModelGen.Runtime.Tests.Nn
{
    /// <summary>What <see cref="Attention"/> computes: against an fp64 reference, fused against eager, causality, key/value sharing.</summary>
    public sealed class AttentionMathTests
    {
        [Theory]
        [InlineData(4, 4, true, false, true, false)]
        [InlineData(4, 2, true, true, true, false)]
        [InlineData(4, 1, false, true, false, true)]
        [InlineData(4, 2, false, false, false, true)]
        [InlineData(4, 2, true, true, false, true)]
        public void Matches_the_fp64_reference(long heads, long kvHeads, bool causal, bool rotary, bool fused, bool bias)
        {
            using var attention = new Attention(32, heads, kvHeads, causal, rotary, ropeTheta: 500, fused: fused, bias: bias);
            var x = Randn(10, 2, 7, 32);
            Close(AttentionReference.Forward(attention, x, ropeTheta: 500), attention.call(x), atol: 2e-6, rtol: 1e-5);
        }

        [Theory]
        [InlineData(true, false)]
        [InlineData(false, false)]
        [InlineData(true, true)]
        [InlineData(false, true)]
        public void Fused_equals_eager(bool causal, bool rotary)
        {
            using var fused = new Attention(64, 8, 2, causal, rotary, fused: true);
            using var eager = new Attention(64, 8, 2, causal, rotary, fused: false);
            eager.load_state_dict(fused.state_dict());
            var x = Randn(11, 3, 9, 64);
            Close(eager.call(x), fused.call(x), atol: 1e-5);
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public void A_later_token_does_not_change_earlier_outputs(bool fused)
        {
            using var attention = new Attention(32, 4, 2, causal: true, rotary: true, fused: fused);
            var x = Randn(12, 1, 6, 32);
            var changed = x.clone();
            changed[0, 5] = Randn(13, 32);

            var before = attention.call(x);
            var after = attention.call(changed);

            Close(before[0, ..5], after[0, ..5], atol: 1e-6);
            Assert.True(MaxDifference(before[0, 5], after[0, 5]) > 1e-3, "the changed token's own output did not change");
        }

        [Fact]
        public void Without_the_causal_mask_a_later_token_changes_earlier_outputs()
        {
            using var attention = new Attention(32, 4, 2, causal: false);
            var x = Randn(14, 1, 6, 32);
            var changed = x.clone();
            changed[0, 5] = Randn(15, 32);
            Assert.True(MaxDifference(attention.call(x)[0, 0], attention.call(changed)[0, 0]) > 1e-4);
        }

        [Theory]
        [InlineData(2, true)]
        [InlineData(1, true)]
        [InlineData(2, false)]
        public void Grouped_query_equals_multi_head_with_repeated_key_value_weights(long kvHeads, bool rotary)
        {
            const long hidden = 48, heads = 6, d = hidden / heads;
            using var grouped = new Attention(hidden, heads, kvHeads, rotary: rotary, bias: true);
            using var multiHead = new Attention(hidden, heads, heads, rotary: rotary, bias: true);
            var group = heads / kvHeads;
            using (torch.no_grad())
            {
                multiHead.q_proj.weight.copy_(grouped.q_proj.weight);
                multiHead.q_proj.bias!.copy_(grouped.q_proj.bias!);
                multiHead.o_proj.weight.copy_(grouped.o_proj.weight);
                multiHead.o_proj.bias!.copy_(grouped.o_proj.bias!);
                // Query head h reads key/value head h / group: repeat each head's d rows group times, in order.
                foreach (var (from, to) in new[] { (grouped.k_proj, multiHead.k_proj), (grouped.v_proj, multiHead.v_proj) })
                {
                    to.weight.copy_(from.weight.view(kvHeads, d, hidden).repeat_interleave(group, dim: 0).reshape(heads * d, hidden));
                    to.bias!.copy_(from.bias!.view(kvHeads, d).repeat_interleave(group, dim: 0).reshape(heads * d));
                }
            }
            var x = Randn(16, 2, 5, hidden);
            Close(multiHead.call(x), grouped.call(x), atol: 1e-6);
        }

        [Fact]
        public void Rotary_changes_the_output_only_through_position()
        {
            using var rotary = new Attention(32, 4, 2, rotary: true);
            using var plain = new Attention(32, 4, 2, rotary: false);
            plain.load_state_dict(rotary.state_dict());

            // A single token sits at position 0, where the rotation is the identity.
            var one = Randn(17, 2, 1, 32);
            Close(plain.call(one), rotary.call(one), atol: 1e-6);

            var many = Randn(18, 2, 6, 32);
            Assert.True(MaxDifference(plain.call(many), rotary.call(many)) > 1e-3, "rotary had no effect on a 6-token sequence");
        }

        [Fact]
        public void Core_is_the_part_between_projections()
        {
            using var attention = new Attention(32, 4, 4, causal: true, fused: false);
            var q = Randn(19, 2, 4, 5, 8);
            var k = Randn(20, 2, 4, 5, 8);
            var v = Randn(21, 2, 4, 5, 8);

            var scores = q.to(ScalarType.Float64).matmul(k.to(ScalarType.Float64).transpose(-2, -1)) / System.Math.Sqrt(8);
            scores = scores.masked_fill(torch.ones(5, 5, dtype: ScalarType.Bool).triu(1), double.NegativeInfinity);
            var expected = scores.softmax(-1).matmul(v.to(ScalarType.Float64));

            Close(expected, attention.Core(q, k, v), atol: 1e-6);
        }
    }
}
