using System;
using System.Collections.Generic;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// Parameters and forward tensors of <c>ModelGen.Nn.MixtureOfExperts</c>, op by op as its forward runs them (docs/moe.md):
    /// router <c>gate</c>, fp32 softmax, top-k and renormalisation, a stable sort of the (token, choice) pairs by expert, the gather
    /// of the routed rows, each expert on its rows, and the weighted scatter-add back to the tokens.
    /// </summary>
    internal static class MixtureOfExpertsTerms
    {
        /// <summary>
        /// Rows the experts compute in one forward of <paramref name="tokens"/> tokens: every (token, choice) pair when dropless,
        /// which is exact however the router balances them; with a capacity factor, the bound <c>min(k·T, E·C)</c> (worst case: every
        /// expert full), because the balance of a real batch is not known before it runs.
        /// </summary>
        public static long RoutedRows(MixtureOfExpertsSpec moe, long tokens)
        {
            var routes = checked(tokens * moe.TopK.Value);
            return moe.CapacityFactor > 0 ? Math.Min(routes, checked(moe.Experts.Value * Capacity(moe, tokens))) : routes;
        }

        /// <summary>
        /// Rows one expert computes at most: all <paramref name="tokens"/> tokens when dropless (a token picks distinct experts, so the
        /// worst case is every token choosing the same one), else its capacity <c>min(T, ceil(f·T·k/E))</c>.
        /// </summary>
        public static long LargestExpertRows(MixtureOfExpertsSpec moe, long tokens) => moe.CapacityFactor > 0 ? Capacity(moe, tokens) : tokens;

        /// <summary>Switch Transformer's expert capacity (Fedus et al. 2021, §2.2) for top-k routes, at most every token.</summary>
        public static long Capacity(MixtureOfExpertsSpec moe, long tokens) =>
            Math.Min(tokens, (long)Math.Ceiling(moe.CapacityFactor * tokens * moe.TopK.Value / moe.Experts.Value));

        /// <summary>The router <c>gate.weight</c> [E, H] and each expert's bias-free <c>w1</c>, <c>w3</c> (gated only) [I, H] and <c>w2</c> [H, I].</summary>
        public static void Parameters(MixtureOfExpertsSpec moe, Action<string, long, long> add)
        {
            var hidden = moe.Hidden.Value;
            var inner = moe.Inner.Value;
            add("gate.weight", moe.Experts.Value, hidden);
            for (var e = 0L; e < moe.Experts.Value; e++)
            {
                // One tensor per expert, as the module registers them: the largest single tensor sizes the optimizer's temporaries.
                add($"experts.{e}.w1.weight", inner, hidden);
                if (moe.Gated)
                    add($"experts.{e}.w3.weight", inner, hidden);
                add($"experts.{e}.w2.weight", hidden, inner);
            }
        }

        /// <summary>
        /// What the forward creates. Training saves, per PyTorch's derivative rules: the router's input (linear), the fp32 probabilities
        /// (softmax its output), the top-k indices (topk), the top-k values and their sum (div both operands), the sort order and the
        /// row → token indices (index_select, index_add), the routed rows (each expert's linears read views of them), the experts'
        /// own activations for all routed rows, each expert's output with its routing weight (mul both operands), and the weighted
        /// output (index_add_ keeps its source). Checked against PyTorch's saved_tensors_hooks (tests/python/moe_saved_bytes.py).
        /// </summary>
        public static void Forward(MixtureOfExpertsSpec moe, int d, Pass pass, long tokens, Action<string, long> saved, Action<string, long> input, Action<string, long> temp)
        {
            var hidden = moe.Hidden.Value;
            var experts = moe.Experts.Value;
            var k = moe.TopK.Value;
            var routes = tokens * k;
            var rows = RoutedRows(moe, tokens);
            var largest = LargestExpertRows(moe, tokens);
            var training = pass.Training;
            // In inference nothing is saved: what training saves lives until the block's dispose scope ends.
            Action<string, long> kept = training ? saved : temp;

            input("input (router and routed rows' source)", tokens * hidden * d);
            temp("router logits", tokens * experts * d);
            if (d < Sizes.Fp32)
                temp("router logits cast to fp32 (softmax in fp32)", tokens * experts * Sizes.Fp32);
            kept("router probabilities (fp32, softmax output)", tokens * experts * Sizes.Fp32);
            kept("top-k probabilities (fp32)", routes * Sizes.Fp32);
            kept("top-k expert indices (int64)", routes * Sizes.Int64);
            kept("top-k sum (fp32)", tokens * Sizes.Fp32);
            temp("renormalised weights (fp32)", routes * Sizes.Fp32);
            if (d < Sizes.Fp32)
                temp("renormalised weights in the compute dtype", routes * d);
            temp("sorted expert ids (int64)", routes * Sizes.Int64);
            temp("routes per expert (int64)", experts * Sizes.Int64);
            if (moe.CapacityFactor > 0)
                temp("sort order before capacity (int64)", routes * Sizes.Int64);
            kept("sort order of the routed rows (int64)", (moe.CapacityFactor > 0 ? rows : routes) * Sizes.Int64);
            kept("token of each routed row (int64)", rows * Sizes.Int64);
            kept("routed rows (experts' input)", rows * hidden * d);
            kept("routing weight of each row", rows * d);
            Experts(moe, d, rows, largest, training, saved, temp);
            if (training)
            {
                saved("experts' outputs (weighting's input)", rows * hidden * d);
                // index_add_'s derivative for its source is grad.index_select(...).expand_as(source): autograd keeps the source.
                saved("weighted outputs (index_add_'s source)", rows * hidden * d);
                saved("load-balancing route fractions (fp32)", experts * Sizes.Fp32); // mul keeps only the factor without a gradient
            }
            else
            {
                temp("largest expert's output and weighted output", 2 * largest * hidden * d);
            }
            temp("output", tokens * hidden * d);
        }

        /// <summary>
        /// The experts' activations: saved for all <paramref name="rows"/> in training; in inference only the largest expert's are alive
        /// at once, since each expert's dispose scope frees them when it returns.
        /// </summary>
        private static void Experts(MixtureOfExpertsSpec moe, int d, long rows, long largest, bool training, Action<string, long> saved, Action<string, long> temp)
        {
            var inner = moe.Inner.Value;
            var all = rows * inner * d;
            var one = largest * inner * d;
            Action<string, long> each = training ? (what, _) => saved(what, all) : (what, _) => temp("largest expert's " + what, one);
            switch (moe.Activation)
            {
                case FeedForwardActivation.SwiGlu:
                case FeedForwardActivation.GeGlu:
                {
                    var act = moe.Activation == FeedForwardActivation.SwiGlu ? "silu" : "gelu";
                    each($"w1 output ({act} input)", 0);
                    each($"{act} output", 0);
                    each("w3 output", 0);
                    each($"{act}(w1) * w3 (w2 input)", 0);
                    break;
                }
                case FeedForwardActivation.Relu:
                    // relu's backward reads its output (w2's input too); its input is the expert's temporary.
                    temp("largest expert's w1 output (relu input)", one);
                    each("relu output (w2 input)", 0);
                    break;
                default:
                {
                    var act = moe.Activation == FeedForwardActivation.Silu ? "silu" : "gelu";
                    each($"w1 output ({act} input)", 0);
                    each($"{act} output (w2 input)", 0);
                    break;
                }
            }
        }
    }
}
