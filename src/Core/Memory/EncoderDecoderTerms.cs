using System;
using System.Collections.Generic;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// Parameters and forward tensors of the encoder–decoder blocks (docs/encoder-decoder.md), op by op as ModelGen's
    /// <c>CrossAttention</c> and <c>RelativeAttention</c> run them. The encoder length is the pass's key length: a budget's
    /// <c>SequenceLength</c> is both the encoder's and the decoder's length.
    /// </summary>
    internal static class EncoderDecoderTerms
    {
        /// <summary>
        /// Bytes per query–key pair the bucketing holds at its peak (<c>RelativePositionBias.BucketInPlace</c>): the int64 offsets (later
        /// the distances, in place), the large buckets (int64), the bool test and the int64 result, plus the bool "key after query" of
        /// two-sided buckets.
        /// </summary>
        public static long BucketBytesPerPair(bool bidirectional) => (3 * Sizes.Int64) + 1 + (bidirectional ? 1 : 0);

        /// <summary>Rejects sizes the runtime rejects (the parser reports them first as MG0559).</summary>
        public static void Check(string layer, string block, Dim hidden, Dim heads)
        {
            if (hidden.Value <= 0 || heads.Value <= 0)
                throw new ArgumentException($"{layer}.{block}: every size must be positive, got {hidden} and {heads}.");
            if (hidden.Value % heads.Value != 0)
                throw new ArgumentException($"{layer}.{block}: heads ({heads}) must divide hidden ({hidden}).");
        }

        /// <summary>The parameters: four <c>hidden × hidden</c> projections (and biases), and a relative block's <c>[buckets, heads]</c> table.</summary>
        public static void Parameters(BlockSpec block, Action<string, long, long, long, long> add)
        {
            var (hidden, bias) = block switch
            {
                CrossAttentionSpec c => (c.Hidden.Value, c.Bias),
                RelativeAttentionSpec r => (r.Hidden.Value, r.Bias),
                _ => throw new ArgumentOutOfRangeException(nameof(block), block.GetType().Name),
            };
            foreach (var projection in new[] { "q_proj", "k_proj", "v_proj", "o_proj" })
            {
                add(projection + ".weight", hidden, hidden, hidden, hidden);
                if (bias)
                    add(projection + ".bias", hidden, 1, hidden, 1);
            }
            if (block is RelativeAttentionSpec relative)
                add("relative_attention_bias.weight", relative.Buckets, relative.Heads.Value, relative.Buckets, relative.Heads.Value);
        }

        /// <summary>The tensors the block's forward creates in <paramref name="pass"/>, its activations being <paramref name="d"/> bytes per element.</summary>
        public static void Forward(BlockSpec block, int d, Pass pass, List<Created> list)
        {
            var training = pass.Training;
            var name = block.Name;
            void Saved(string what, long bytes, bool replicated = false) => list.Add(new Created(name, what, bytes, training, replicated));
            void Temp(string what, long bytes) => list.Add(new Created(name, what, bytes, false, false));
            var b = pass.Batch;
            var queries = pass.Queries;
            switch (block)
            {
                case CrossAttentionSpec cross:
                {
                    // Keys and values come from the encoder output: its length is the pass's key length (the budget's sequence length).
                    var hidden = cross.Hidden.Value;
                    var heads = cross.Heads.Value;
                    var keys = pass.Keys;
                    var q = b * queries * hidden * d;
                    var kv = b * keys * hidden * d;
                    if (training)
                    {
                        Saved("input (q_proj input)", q, replicated: true);
                        // The same encoder output in every layer that reads it: counted per layer, an over-count of (layers − 1) copies.
                        Saved("encoder output (k_proj and v_proj input)", kv, replicated: true);
                    }
                    if (cross.Fused)
                    {
                        // The kernel keeps q, k, v, its output and the per-row log-sum-exp, never the s_dec × s_enc scores.
                        if (!cross.Scaled)
                            Temp("q_proj output (before the √headDim factor)", q);
                        Saved(cross.Scaled ? "q" : "q · √headDim", q);
                        Saved("k (from the encoder output)", kv);
                        Saved("v (from the encoder output)", kv);
                        Saved("attention output", q);
                        Saved("log-sum-exp (fp32)", b * heads * queries * Sizes.Fp32);
                        Saved("context (o_proj input)", q);
                        Temp("o_proj output", q);
                        return;
                    }
                    Saved("q", q);
                    Saved("k (from the encoder output)", kv);
                    Saved("v (from the encoder output)", kv);
                    Eager(name, d, pass, b * heads * queries * keys, heads, queries, keys, causal: false, dropoutP: cross.DropoutP, bias: 0, q, list);
                    return;
                }
                case RelativeAttentionSpec relative:
                {
                    // Self-attention over the pass's own tokens: the block has no KV cache, so keys are its queries.
                    var hidden = relative.Hidden.Value;
                    var heads = relative.Heads.Value;
                    var keys = queries;
                    var q = b * queries * hidden * d;
                    var pairs = queries * keys;
                    if (training)
                        Saved("input (shared by q/k/v projections)", q, replicated: true);
                    Saved("q", q);
                    Saved("k", q);
                    Saved("v", q);
                    // Bucketing (no autograd), then the table lookup: index_select keeps its int64 indices for the table's gradient.
                    var bucketing = (BucketBytesPerPair(!relative.Causal) * pairs) + ((queries + keys) * Sizes.Int64);
                    Saved("bucket indices (int64, q×k; index_select's backward reads them)", pairs * Sizes.Int64, replicated: true);
                    Eager(name, d, pass, b * heads * pairs, heads, queries, keys, relative.Causal, relative.DropoutP, bias: heads * pairs * d, q, list, bucketing);
                    return;
                }
            }
        }

        /// <summary>
        /// The eager core as <c>EagerCore.Run</c> runs it, inside the block's dispose scope: its early-freed temporaries as one peak
        /// (the largest of: bucketing; q kᵀ beside the biased scores; the softmax's working copy; dropout; the output), then what autograd
        /// saves. With a bias (<paramref name="bias"/> bytes, the looked-up <c>[heads, q, k]</c> rows) the scaled-and-biased scores are one
        /// more s² tensor, alive through the softmax while q kᵀ is freed before it; without, the softmax reads q kᵀ itself.
        /// </summary>
        private static void Eager(string name, int d, Pass pass, long scores, long heads, long queries, long keys, bool causal, double dropoutP, long bias,
            long context, List<Created> list, long bucketing = 0)
        {
            var training = pass.Training;
            var dropout = training && dropoutP > 0;
            var mask = causal ? queries * keys : 0;
            var rowStats = pass.Batch * heads * queries * Sizes.Fp32;
            var working = scores * Sizes.Fp32;
            var cast = d < Sizes.Fp32 ? scores * d : 0;
            // With a bias: q kᵀ and the biased scores at once, then the biased scores through the softmax.
            var adding = bias > 0 ? bias + (2 * scores * d) : 0;
            var softmax = bias + (scores * d) + working + Math.Max(Math.Max(mask, rowStats), cast);
            var maskElement = pass.Device.DropoutMaskIsBoolean ? 1 : d;
            var dropping = dropout ? bias + (scores * d) + (scores * maskElement) + (scores * d) : 0;
            // After the core: p·v's output (beside the bias rows until they are freed), the context (a temporary outside training), the o_proj output.
            var after = Math.Max(bias + context, context + (training ? 0 : context) + context);
            var peak = Math.Max(Math.Max(Math.Max(bucketing, adding), Math.Max(softmax, dropping)), after);
            var what = peak == bucketing ? "relative position bucketing (int64 offsets, fp64 log ratio, buckets)"
                : peak == adding ? "bias rows, q kᵀ and the scaled, biased scores"
                : peak == softmax ? "eager core at its softmax (scores, fp32 working copy, mask or row statistics, cast probabilities)"
                : peak == dropping ? "eager core at its dropout (probabilities, dropout mask, dropped probabilities)"
                : "attention output, context and o_proj output";
            list.Add(new Created(name, what, peak, false, false));
            if (!training)
                return;
            list.Add(new Created(name, d < Sizes.Fp32 ? "softmax output (16-bit, computed in fp32)" : "softmax output (fp32)", scores * d, true, false));
            if (dropout)
            {
                list.Add(new Created(name, pass.Device.DropoutMaskIsBoolean ? "dropout mask (bool)" : "dropout noise", scores * maskElement, true, false));
                list.Add(new Created(name, "dropped probabilities (p·v input)", scores * d, true, false));
            }
            list.Add(new Created(name, "context (o_proj input)", context, true, false));
        }
    }
}
