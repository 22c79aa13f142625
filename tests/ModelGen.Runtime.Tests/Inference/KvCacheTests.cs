using System;
using System.Linq;
using ModelGen.Inference;
using ModelGen.Nn;
using ModelGen.Runtime.Tests.Nn;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Inference
{
    public class KvCacheTests
    {
        [Fact]
        public void Cached_decoding_gives_token_by_token_the_logits_of_the_uncached_sequence()
        {
            using var model = new TinyDecoder(seed: 1);
            using var noGrad = no_grad();
            var tokens = randint(0, TinyDecoder.Vocab, new long[] { 2, 14 }, generator: new Generator(2));
            using var full = model.call(tokens);

            using var cache = new KvCache(model.CacheOptions(2, 14));
            // Prefill 6 tokens, then one token per step.
            var pieces = new[] { (0L, 6L) }.Concat(Enumerable.Range(6, 8).Select(i => ((long)i, 1L)));
            foreach (var (start, count) in pieces)
            {
                var chunk = tokens.narrow(1, start, count);
                using var logits = model.Forward(chunk, cache, arange(start, start + count).expand(2, count), ones(2, count));
                TensorAssert.Close(full.narrow(1, start, count), logits, atol: 2e-5, rtol: 1e-5);
            }

            Assert.Equal(14, cache.Length);
        }

        [Fact]
        public void Prefill_in_chunks_equals_one_prefill()
        {
            using var model = new TinyDecoder(seed: 3);
            using var noGrad = no_grad();
            var tokens = randint(0, TinyDecoder.Vocab, new long[] { 1, 20 }, generator: new Generator(4));
            using var one = new KvCache(model.CacheOptions(1, 21));
            using var whole = model.Forward(tokens, one, arange(20).unsqueeze(0), ones(1, 20));
            using var chunked = new KvCache(model.CacheOptions(1, 21));
            var parts = Enumerable.Range(0, 3).Select(i => model.Forward(tokens.narrow(1, i * 7, Math.Min(7, 20 - i * 7)), chunked,
                arange(i * 7, i * 7 + Math.Min(7, 20 - i * 7)).unsqueeze(0), ones(1, Math.Min(7, 20 - i * 7)))).ToArray();
            TensorAssert.Close(whole, cat(parts, 1), atol: 2e-5, rtol: 1e-5);
        }

        [Fact]
        public void The_sliding_window_equals_masked_full_attention_and_keeps_only_the_window()
        {
            const long window = 5, seq = 17;
            manual_seed(5);
            using var attention = new Attention(32, 4, 2, rotary: true);
            using var noGrad = no_grad();
            var x = randn(2, seq, 32);
            using var expected = WindowReference(attention, x, window);

            var options = new KvCacheOptions { Layers = 1, Batch = 2, KvHeads = 2, HeadDim = 8, MaxLength = seq, SlidingWindow = window };
            using var cache = new KvCache(options);
            var outputs = new[] { (0L, 7L), (7, 1), (8, 1), (9, 6), (15, 2) }
                .Select(p => attention.forward(x.narrow(1, p.Item1, p.Item2), cache.Layer(0))).ToArray();
            TensorAssert.Close(expected, cat(outputs, 1), atol: 1e-5, rtol: 1e-5);
            // Storage for 5 slots, not 17.
            Assert.Equal(KvCache.Bytes(options), cache.AllocatedBytes);
            Assert.Equal(2 * 2 * 2 * window * 8 * 4 + 2 * window, cache.AllocatedBytes);
        }

        [Fact]
        public void An_int8_cache_stays_within_int8_rounding_of_the_float_cache()
        {
            using var model = new TinyDecoder(seed: 6);
            using var noGrad = no_grad();
            var tokens = randint(0, TinyDecoder.Vocab, new long[] { 1, 12 }, generator: new Generator(7));
            using var full = model.call(tokens);
            using var int8 = new KvCache(model.CacheOptions(1, 12) with { Int8 = true });
            using var logits = model.Forward(tokens, int8, arange(12).unsqueeze(0), ones(1, 12));
            double relative = (logits - full).norm().item<float>() / full.norm().item<float>();
            // Keys and values rounded to 1/254 of their absmax: ≈ 0.2 % per element, a fraction of that in the logits.
            Assert.InRange(relative, 1e-6, 5e-3);
            Assert.Equal(KvCache.Bytes(int8.Options), int8.AllocatedBytes);
        }

        [Theory]
        [InlineData(false, null)]
        [InlineData(true, null)]
        [InlineData(false, 64L)]
        public void Allocated_bytes_are_the_formula_and_grouped_query_heads_are_never_repeated(bool int8, long? window)
        {
            var options = new KvCacheOptions { Layers = 3, Batch = 2, KvHeads = 2, HeadDim = 16, MaxLength = 100, DType = ScalarType.BFloat16, Int8 = int8, SlidingWindow = window };
            using var cache = new KvCache(options);
            long slots = window ?? 100;
            long expected = 3 * (2 * 2 * 2 * slots * 16 * (int8 ? 1 : 2) + (int8 ? 2 * 2 * 2 * slots * 4 : 0) + 2 * slots);
            Assert.Equal(expected, KvCache.Bytes(options));
            Assert.Equal(expected, cache.AllocatedBytes);
        }

        [Fact]
        public void A_full_cache_says_its_maximum_length()
        {
            using var attention = new Attention(32, 4, 2);
            using var cache = new KvCache(new KvCacheOptions { Layers = 1, Batch = 1, KvHeads = 2, HeadDim = 8, MaxLength = 4 });
            using var noGrad = no_grad();
            using (attention.forward(randn(1, 3, 32), cache.Layer(0))) { }
            var e = Assert.Throws<ArgumentException>(() => attention.forward(randn(1, 2, 32), cache.Layer(0)));
            Assert.Contains("at most 4 tokens", e.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void Causal_core_accepts_fewer_queries_than_keys_as_the_last_positions()
        {
            manual_seed(8);
            foreach (var fused in new[] { true, false })
            {
                using var attention = new Attention(16, 2, 2, fused: fused);
                var q = randn(1, 2, 6, 8);
                var k = randn(1, 2, 6, 8);
                var v = randn(1, 2, 6, 8);
                using var all = attention.Core(q, k, v);
                using var lastTwo = attention.Core(q.narrow(2, 4, 2), k, v);
                TensorAssert.Close(all.narrow(2, 4, 2), lastTwo, atol: 1e-6);
            }
        }

        /// <summary>Attention with an explicit band mask over the whole sequence: key j visible to query i when i − window &lt; j ≤ i.</summary>
        private static Tensor WindowReference(Attention a, Tensor x, long window)
        {
            long b = x.shape[0], s = x.shape[1];
            var q = a.q_proj.call(x).view(b, s, 4, 8).transpose(1, 2);
            var k = a.k_proj.call(x).view(b, s, 2, 8).transpose(1, 2);
            var v = a.v_proj.call(x).view(b, s, 2, 8).transpose(1, 2);
            q = a.Rotary!.Apply(q);
            k = a.Rotary!.Apply(k).repeat_interleave(2, 1);
            v = v.repeat_interleave(2, 1);
            var i = arange(s).unsqueeze(1);
            var j = arange(s).unsqueeze(0);
            var visible = j.le(i).logical_and(j.gt(i - window));
            var scores = q.matmul(k.transpose(-2, -1)) / Math.Sqrt(8);
            scores = scores.masked_fill(visible.logical_not(), double.NegativeInfinity);
            var o = scores.softmax(-1).matmul(v).transpose(1, 2).reshape(b, s, 32);
            return a.o_proj.call(o);
        }
    }
}
