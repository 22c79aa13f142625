using System;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Inference
{
    /// <summary>The logit transforms of sampling, each on <c>[batch, vocab]</c> logits, returning new logits.</summary>
    public static class LogitsProcessing
    {
        /// <summary>Repetition penalty (CTRL, Keskar et al. 2019, §4.1, as Hugging Face applies it): for every token present in
        /// <paramref name="seen"/> (<c>[batch, n]</c> ids; ids &lt; 0 ignored), a positive logit is divided by the penalty, a negative one multiplied.</summary>
        public static Tensor RepetitionPenalty(Tensor logits, Tensor seen, double penalty)
        {
            ArgumentNullException.ThrowIfNull(logits);
            ArgumentNullException.ThrowIfNull(seen);
            using var scope = NewDisposeScope();
            var present = zeros_like(logits, ScalarType.Bool);
            var ids = seen.clamp_min(0);
            present.scatter_(1, ids, ones_like(ids, ScalarType.Bool));
            if (seen.lt(0).any().item<bool>())
            {
                // Ids below 0 mark "no token"; scatter wrote them at id 0, so restore id 0 from the real ids only.
                var realZero = seen.eq(0).any(1, keepdim: true);
                present.narrow(1, 0, 1).copy_(realZero);
            }

            var penalized = where(logits.gt(0), logits / penalty, logits * penalty);
            return where(present, penalized, logits).MoveToOuterDisposeScope();
        }

        /// <summary>Keeps the <paramref name="k"/> largest logits of each row (ties at the k-th value kept); the rest become −∞.</summary>
        public static Tensor TopK(Tensor logits, int k)
        {
            ArgumentNullException.ThrowIfNull(logits);
            if (k <= 0 || k >= logits.shape[^1])
                return logits.clone();
            using var scope = NewDisposeScope();
            var kth = logits.topk(k, dim: -1).values.narrow(-1, k - 1, 1);
            return logits.masked_fill(logits.lt(kth), double.NegativeInfinity).MoveToOuterDisposeScope();
        }

        /// <summary>Nucleus filter (Holtzman et al. 2020, §3.1): keeps the smallest set of most likely tokens whose probability reaches
        /// <paramref name="p"/> (always at least the most likely one); the rest become −∞.</summary>
        public static Tensor TopP(Tensor logits, double p)
        {
            ArgumentNullException.ThrowIfNull(logits);
            if (p >= 1)
                return logits.clone();
            using var scope = NewDisposeScope();
            var (sorted, order) = logits.sort(-1, descending: true);
            var cumulative = sorted.softmax(-1).cumsum(-1);
            // Drop a token when the tokens before it already reach p.
            var drop = (cumulative - sorted.softmax(-1)).ge(p);
            var dropped = zeros_like(drop).scatter_(-1, order, drop);
            return logits.masked_fill(dropped, double.NegativeInfinity).MoveToOuterDisposeScope();
        }

        /// <summary>Chooses the next token of each row: argmax when <paramref name="options"/> is greedy, else a sample after
        /// temperature, top-k and top-p. The repetition penalty applies in both cases.</summary>
        public static Tensor NextTokens(Tensor logits, Tensor seen, GenerationOptions options, Generator? generator)
        {
            ArgumentNullException.ThrowIfNull(logits);
            ArgumentNullException.ThrowIfNull(options);
            using var scope = NewDisposeScope();
            var x = logits.to(ScalarType.Float32);
            if (options.RepetitionPenalty != 1.0)
                x = RepetitionPenalty(x, seen, options.RepetitionPenalty);
            if (options.Temperature == 0)
                return x.argmax(-1).MoveToOuterDisposeScope();
            x = x / options.Temperature;
            x = TopK(x, options.TopK);
            x = TopP(x, options.TopP);
            var probabilities = x.softmax(-1);
            return multinomial(probabilities, 1, generator: generator).squeeze(-1).MoveToOuterDisposeScope();
        }
    }
}
