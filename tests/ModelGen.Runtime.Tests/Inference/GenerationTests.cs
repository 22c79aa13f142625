using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Inference;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Inference
{
    public class GenerationTests
    {
        [Fact]
        public void Greedy_generation_is_the_argmax_of_the_uncached_model_at_every_step()
        {
            using var model = new TinyDecoder(seed: 11);
            var prompt = new long[] { 3, 14, 15, 9, 2 };
            var result = TextGenerator.Generate(model, new[] { prompt }, new GenerationOptions { MaxNewTokens = 8 });

            var sequence = prompt.ToList();
            using var noGrad = no_grad();
            for (int step = 0; step < 8; step++)
            {
                using var logits = model.call(tensor(sequence.ToArray()).unsqueeze(0));
                sequence.Add(logits.select(1, sequence.Count - 1).argmax(-1).item<long>());
            }

            Assert.Equal(sequence.Skip(prompt.Length), result.Tokens[0]);
        }

        [Fact]
        public void Batched_left_padded_prompts_generate_what_each_prompt_generates_alone()
        {
            using var model = new TinyDecoder(seed: 12);
            var prompts = new[] { new long[] { 1, 2, 3, 4, 5, 6, 7 }, new long[] { 8, 9 }, new long[] { 10, 11, 12, 13 } };
            var options = new GenerationOptions { MaxNewTokens = 6, PadToken = 0, PrefillChunk = 3 };
            var batched = TextGenerator.Generate(model, prompts, options);
            for (int i = 0; i < prompts.Length; i++)
                Assert.Equal(TextGenerator.Generate(model, new[] { prompts[i] }, options).Tokens[0], batched.Tokens[i]);
        }

        [Fact]
        public void A_stop_token_ends_its_sequence_and_streaming_sees_every_token_in_order()
        {
            using var model = new TinyDecoder(seed: 13);
            var prompt = new long[] { 5, 6, 7 };
            var free = TextGenerator.Generate(model, new[] { prompt }, new GenerationOptions { MaxNewTokens = 6 }).Tokens[0];
            long stop = free[2];
            var streamed = new List<long>();
            var result = TextGenerator.Generate(model, new[] { prompt }, new GenerationOptions
            {
                MaxNewTokens = 6, StopTokens = new[] { stop }, OnToken = (row, token, step) => streamed.Add(token),
            });
            int firstStop = Array.IndexOf(free, stop);
            Assert.Equal(free.Take(firstStop + 1), result.Tokens[0]);
            Assert.True(result.Stopped[0]);
            Assert.Equal(result.Tokens[0], streamed);
        }

        [Fact]
        public void Sampling_with_a_seed_repeats_and_top_k_one_is_greedy()
        {
            using var model = new TinyDecoder(seed: 14);
            var prompt = new[] { new long[] { 1, 2, 3 } };
            var sampled = new GenerationOptions { MaxNewTokens = 10, Temperature = 1.5, TopP = 0.95, RepetitionPenalty = 1.3, Seed = 42 };
            Assert.Equal(TextGenerator.Generate(model, prompt, sampled).Tokens[0], TextGenerator.Generate(model, prompt, sampled).Tokens[0]);
            var greedy = TextGenerator.Generate(model, prompt, new GenerationOptions { MaxNewTokens = 10 }).Tokens[0];
            var topOne = TextGenerator.Generate(model, prompt, new GenerationOptions { MaxNewTokens = 10, Temperature = 2, TopK = 1, Seed = 1 }).Tokens[0];
            Assert.Equal(greedy, topOne);
        }

        [Fact]
        public void Top_k_and_top_p_keep_exactly_the_stated_tokens()
        {
            var logits = tensor(new float[] { 1, 4, 3, 2, 0 }).unsqueeze(0);
            var k = LogitsProcessing.TopK(logits, 2);
            Assert.Equal(new[] { false, true, true, false, false }, k.isfinite().data<bool>().ToArray());
            // softmax([4, 3, 2, 1, 0]) = 0.636, 0.234, 0.086, 0.032, 0.012: 0.636 < 0.8 ≤ 0.636 + 0.234.
            var p = LogitsProcessing.TopP(logits, 0.8);
            Assert.Equal(new[] { false, true, true, false, false }, p.isfinite().data<bool>().ToArray());
            var tiny = LogitsProcessing.TopP(logits, 0.01);
            Assert.Equal(new[] { false, true, false, false, false }, tiny.isfinite().data<bool>().ToArray());
        }

        [Fact]
        public void The_repetition_penalty_divides_positive_and_multiplies_negative_logits_of_seen_tokens()
        {
            var logits = tensor(new float[] { 2, -2, 2, -2 }).unsqueeze(0);
            var seen = tensor(new long[] { 0, 1, -1 }).unsqueeze(0);
            var penalized = LogitsProcessing.RepetitionPenalty(logits, seen, 2.0);
            Assert.Equal(new float[] { 1, -4, 2, -2 }, penalized.data<float>().ToArray());
        }

        [Fact]
        public void Bad_options_are_named()
        {
            using var model = new TinyDecoder(seed: 15);
            var e = Assert.Throws<ArgumentException>(() => TextGenerator.Generate(model, new[] { new long[] { 1 } }, new GenerationOptions { TopP = 0 }));
            Assert.Contains("TopP", e.Message, StringComparison.Ordinal);
            Assert.Throws<ArgumentException>(() => TextGenerator.Generate(model, new[] { Array.Empty<long>() }));
        }
    }
}
