using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Nn;
using TorchSharp;
using static TorchSharp.torch;
using static ModelGen.Runtime.Tests.Nn.TensorAssert;

namespace ModelGen.Runtime.Tests.Nn
{
    /// <summary>The routed mixture of experts against a dense reference written with plain torch ops (every expert on every token, masked).</summary>
    public sealed class MixtureOfExpertsTests
    {
        private const long Hidden = 12, Inner = 20, ExpertCount = 4;

        [Theory]
        [InlineData(FeedForwardActivation.SwiGlu, 2)]
        [InlineData(FeedForwardActivation.Gelu, 1)]
        [InlineData(FeedForwardActivation.GeGlu, 3)]
        public void Dropless_routing_equals_the_dense_reference_in_outputs_and_gradients(FeedForwardActivation activation, long topK)
        {
            using var moe = new MixtureOfExperts(Hidden, Inner, ExpertCount, topK, activation);
            Compare(moe, Randn(60, 3, 7, Hidden), capacity: long.MaxValue);
        }

        [Fact]
        public void A_capacity_factor_drops_routes_beyond_each_experts_capacity_in_token_order()
        {
            using var moe = new MixtureOfExperts(Hidden, Inner, ExpertCount, 2, capacityFactor: 0.5);
            var x = Randn(61, 2, 9, Hidden);
            // 18 tokens · top-2 / 4 experts · 0.5 = 4.5, so 5 rows per expert; this seed routes more than that to some expert.
            Assert.Equal(5, moe.Capacity(18));
            var dropped = Compare(moe, x, capacity: 5);
            Assert.True(dropped > 0, "the input must overflow an expert for this test to mean anything");
        }

        [Fact]
        public void An_expert_no_token_chooses_never_runs()
        {
            using var moe = new MixtureOfExperts(Hidden, Inner, ExpertCount, 2);
            using (no_grad())
                moe.gate.weight!.index_fill_(0, tensor(new long[] { 3 }), -1.0); // expert 3's logit is -Σx, the lowest for a positive x
            var x = Randn(62, 5, Hidden).abs().requires_grad_();
            moe.call(x).sum().backward();
            Assert.All(moe.experts[3].parameters(), p => Assert.True(p.grad is null, "expert 3 has no tokens, so it must not compute"));
            // Top-2 of 5 tokens uses at least two of the other experts; each that ran has gradients.
            Assert.True(Enumerable.Range(0, 3).Count(e => moe.experts[e].parameters().All(p => p.grad is not null)) >= 2);
        }

        [Fact]
        public void State_dict_keys_follow_Mixtral()
        {
            using var swiglu = new MixtureOfExperts(Hidden, Inner, 2, 1);
            Assert.Equal(Sorted("gate.weight", "experts.0.w1.weight", "experts.0.w2.weight", "experts.0.w3.weight",
                "experts.1.w1.weight", "experts.1.w2.weight", "experts.1.w3.weight"), SortedKeys(swiglu));
            Assert.Equal(2 * Hidden + 2 * 3 * Hidden * Inner, ParameterCount(swiglu));
            using var gelu = new MixtureOfExperts(Hidden, Inner, 2, 1, FeedForwardActivation.Gelu);
            Assert.Equal(Sorted("gate.weight", "experts.0.w1.weight", "experts.0.w2.weight", "experts.1.w1.weight", "experts.1.w2.weight"), SortedKeys(gelu));
        }

        [Fact]
        public void Load_balancing_loss_is_experts_times_route_fractions_times_mean_probabilities()
        {
            using var moe = new MixtureOfExperts(Hidden, Inner, ExpertCount, 2);
            var x = Randn(63, 10, Hidden);
            moe.call(x);
            var probabilities = moe.gate.call(x).softmax(-1, ScalarType.Float32);
            var chosen = probabilities.topk(2, dim: -1).indexes;
            var fraction = nn.functional.one_hot(chosen, ExpertCount).sum(new long[] { 0, 1 }).to(ScalarType.Float32) / 10;
            var expected = (fraction * probabilities.mean(new long[] { 0 })).sum() * ExpertCount;
            Close(expected, moe.LoadBalancingLoss!, 1e-6);
            moe.LoadBalancingLoss!.backward();
            Assert.True(moe.gate.weight!.grad!.abs().sum().item<float>() > 0);
        }

        [Fact]
        public void Bad_arguments_are_refused_with_the_values()
        {
            Assert.Contains("top-k = 5", Assert.Throws<ArgumentException>(() => new MixtureOfExperts(8, 16, 4, 5)).Message);
            Assert.Contains("top-k = 0", Assert.Throws<ArgumentException>(() => new MixtureOfExperts(8, 16, 4, 0)).Message);
            Assert.Contains("experts = 0", Assert.Throws<ArgumentException>(() => new MixtureOfExperts(8, 16, 0, 1)).Message);
            Assert.Contains("-1", Assert.Throws<ArgumentException>(() => new MixtureOfExperts(8, 16, 4, 2, capacityFactor: -1)).Message);
            using var moe = new MixtureOfExperts(8, 16, 4);
            Assert.Contains("[2, 7]", Assert.Throws<ArgumentException>(() => moe.call(Randn(64, 2, 7))).Message);
        }

        /// <summary>
        /// Checks <paramref name="moe"/> against every expert run on every token, its output multiplied by the token's renormalised
        /// top-k weight for that expert (0 when not chosen, or when the route is beyond <paramref name="capacity"/> rows of its expert
        /// in token order), for the output and the gradients of the input and every parameter. Returns the dropped routes.
        /// </summary>
        private static int Compare(MixtureOfExperts moe, Tensor x, long capacity)
        {
            var input = x.clone().requires_grad_();
            var output = moe.call(input);
            var upstream = Randn(65, output.shape);
            (output * upstream).sum().backward();

            var referenceInput = x.clone().requires_grad_();
            var copies = moe.parameters().Select(p => p.detach().clone().requires_grad_()).ToArray();
            var named = moe.named_parameters().Select(p => p.name).Zip(copies).ToDictionary(p => p.First, p => p.Second);
            var flat = referenceInput.reshape(-1, Hidden);
            var probabilities = flat.matmul(named["gate.weight"].t()).softmax(-1, ScalarType.Float32);
            var (top, chosen) = probabilities.topk((int)moe.TopK, dim: -1);
            var normalised = top / top.sum(-1, keepdim: true);
            // Which routes survive the capacity, token by token then choice by choice (the runtime's priority).
            var ids = chosen.data<long>().ToArray();
            var keep = new float[ids.Length];
            var used = new long[moe.Experts];
            var dropped = 0;
            for (var i = 0; i < ids.Length; i++)
            {
                if (used[ids[i]] < capacity) { keep[i] = 1; used[ids[i]]++; }
                else dropped++;
            }
            var dense = zeros(flat.shape[0], moe.Experts).scatter(1, chosen, normalised * tensor(keep).reshape(chosen.shape));
            var expected = zeros_like(flat);
            for (var e = 0; e < moe.Experts; e++)
            {
                var first = flat.matmul(named[$"experts.{e}.w1.weight"].t());
                var activated = named.TryGetValue($"experts.{e}.w3.weight", out var w3)
                    ? FeedForward.Activate(moe.experts[e].Activation, first, flat.matmul(w3.t()))
                    : FeedForward.Activate(moe.experts[e].Activation, null, first);
                expected = expected + dense.narrow(1, e, 1) * activated.matmul(named[$"experts.{e}.w2.weight"].t());
            }
            expected = expected.reshape(x.shape);
            (expected * upstream).sum().backward();

            Close(expected, output, 1e-5, 1e-5);
            Close(referenceInput.grad!, input.grad!, 1e-5, 1e-5);
            foreach (var (name, parameter) in moe.named_parameters())
            {
                var reference = named[name].grad;
                if (reference is null || reference.abs().max().item<float>() == 0)
                    Assert.True(parameter.grad is null || parameter.grad.abs().max().item<float>() == 0, name);
                else
                    Close(reference, parameter.grad!, 1e-5, 1e-5);
            }
            return dropped;
        }
    }
}
