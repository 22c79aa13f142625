using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Inference
{
    /// <summary>
    /// Autoregressive generation over a <see cref="KvCache"/>: prompts of different lengths are left-padded into one batch (with a
    /// padding mask and positions that skip the padding, so each row computes what it would alone), prefilled in chunks, then
    /// decoded one token per step with greedy or sampled choice, stop tokens and a streaming callback.
    /// </summary>
    public static class TextGenerator
    {
        /// <summary>Generates a continuation of each prompt.</summary>
        /// <param name="model">The decoder (in eval mode; this method turns gradients off).</param>
        /// <param name="prompts">Token ids of each prompt; each needs at least one token.</param>
        /// <param name="options">Choice and stopping rules.</param>
        /// <param name="device">Device of the token tensors; the CPU when null.</param>
        /// <exception cref="ArgumentException">No prompt, an empty prompt, or an option out of range.</exception>
        public static GenerationResult Generate(ICachedLanguageModel model, IReadOnlyList<long[]> prompts, GenerationOptions? options = null, Device? device = null)
        {
            ArgumentNullException.ThrowIfNull(model);
            ArgumentNullException.ThrowIfNull(prompts);
            options ??= new GenerationOptions();
            options.Validate();
            if (prompts.Count == 0 || prompts.Any(p => p is null || p.Length == 0))
                throw new ArgumentException("Generation needs at least one prompt, and every prompt at least one token.", nameof(prompts));

            using var noGrad = no_grad();
            int batch = prompts.Count;
            int longest = prompts.Max(p => p.Length);
            var (tokens, padding) = LeftPad(prompts, longest, options.PadToken);
            using var scope = NewDisposeScope();
            var promptTokens = tensor(tokens, new long[] { batch, longest }, device: device);
            var promptPadding = tensor(padding, new long[] { batch, longest }, device: device);
            // Position ids count real tokens only, as Hugging Face derives them from the attention mask (cumsum − 1).
            var positions = promptPadding.cumsum(1, ScalarType.Int64).sub_(1).clamp_min_(0);

            using var cache = new KvCache(model.CacheOptions(batch, longest + options.MaxNewTokens));
            Tensor? last = null;
            for (long start = 0; start < longest; start += options.PrefillChunk)
            {
                long count = Math.Min(options.PrefillChunk, longest - start);
                using var logits = model.Forward(promptTokens.narrow(1, start, count), cache, positions.narrow(1, start, count), promptPadding.narrow(1, start, count));
                last?.Dispose();
                // The row view is disposed at once: a view left to the enclosing scope would keep the whole chunk's logits
                // ([batch, chunk, vocab]) alive until generation ends.
                using var lastRow = logits.select(1, count - 1);
                last = lastRow.clone();
            }

            using var generator = new Generator(unchecked((ulong)(options.Seed ?? Random.Shared.NextInt64())), device ?? CPU);
            var seen = promptTokens.masked_fill(promptPadding.eq(0), -1);
            var nextPosition = positions.select(1, longest - 1).unsqueeze(1) + 1;
            var outputs = Enumerable.Range(0, batch).Select(_ => new List<long>()).ToArray();
            var stopped = new bool[batch];
            var stops = new HashSet<long>(options.StopTokens);

            for (int step = 0; step < options.MaxNewTokens && last is not null; step++)
            {
                var next = LogitsProcessing.NextTokens(last, seen, options, generator);
                var chosen = next.data<long>().ToArray();
                for (int row = 0; row < batch; row++)
                {
                    if (stopped[row])
                    {
                        chosen[row] = options.PadToken;
                        continue;
                    }

                    outputs[row].Add(chosen[row]);
                    options.OnToken?.Invoke(row, chosen[row], step);
                    if (stops.Contains(chosen[row]))
                        stopped[row] = true;
                }

                if (stopped.All(s => s) || step == options.MaxNewTokens - 1)
                    break;

                var input = tensor(chosen, new long[] { batch, 1 }, device: device);
                seen = cat(new[] { seen, input }, 1);
                using var logits = model.Forward(input, cache, nextPosition, ones_like(input));
                last.Dispose();
                using var lastRow = logits.select(1, 0);
                last = lastRow.clone();
                nextPosition = nextPosition + 1;
            }

            last?.Dispose();
            return new GenerationResult(outputs.Select(o => o.ToArray()).ToArray(), stopped);
        }

        private static (long[] Tokens, long[] Padding) LeftPad(IReadOnlyList<long[]> prompts, int length, long pad)
        {
            var tokens = new long[prompts.Count * length];
            var padding = new long[prompts.Count * length];
            for (int row = 0; row < prompts.Count; row++)
            {
                int offset = length - prompts[row].Length;
                for (int i = 0; i < length; i++)
                {
                    tokens[row * length + i] = i < offset ? pad : prompts[row][i - offset];
                    padding[row * length + i] = i < offset ? 0 : 1;
                }
            }

            return (tokens, padding);
        }
    }
}
