using System.Collections.Generic;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// The tensors ModelGen's <c>Attention</c> creates: q/k/v projections of one shared input, optional rotary embedding, key/value
    /// heads repeated to the query heads (GQA/MQA), the core — eager <c>softmax(q kᵀ/√d + mask) v</c> computed in fp32 and saved in
    /// the activation dtype, or fused <c>scaled_dot_product_attention</c> — and the output projection.
    /// </summary>
    internal static class AttentionForward
    {
        // autocast: mixed precision (AutocastForward): d is the 16-bit compute width and the eager core keeps an fp32 softmax output.
        public static void Add(AttentionSpec attention, int d, Pass pass, int t, bool selective, List<Created> list, bool autocast = false)
        {
            var name = attention.Name;
            var training = pass.Training;
            var b = pass.Batch;
            var tokens = pass.Tokens;
            var headDim = attention.Hidden.Value / attention.Heads.Value;
            var heads = Sizes.Share(attention.Heads.Value, t);
            var kvHeads = Sizes.Share(attention.KvHeads.Value, t);
            var repeated = kvHeads < heads;
            var rankQ = tokens * heads * headDim * d;
            var rankKv = tokens * kvHeads * headDim * d;
            var scores = b * heads * pass.Queries * pass.Keys;
            void Saved(string what, long bytes, bool replicated = false) => list.Add(new Created(name, what, bytes, training, replicated));
            void Temp(string what, long bytes) => list.Add(new Created(name, what, bytes, false, false));
            void Core(string what, long bytes) => list.Add(new Created(name, what, bytes, training && !selective, false, training && selective));

            // Quantized projections save no input (QuantizedProjections); they rebuild one weight at a time instead.
            var quantized = attention.Quant is not null;
            if (training && !quantized)
                Saved("input (shared by q/k/v projections)", tokens * attention.Hidden.Value * d, replicated: true);
            if (quantized)
                Temp(QuantizedProjections.DequantizedWeight, QuantizedProjections.DequantizedWeightBytes(attention, d));
            // Projection outputs the core does not read directly: rotary replaces q and k, repeat_kv copies k and v.
            if (attention.Rotary)
                Temp("q_proj output (before rotary)", rankQ);
            if (attention.Rotary || repeated)
                Temp("k_proj output", rankKv);
            if (attention.Rotary && repeated)
                Temp("rotated k (before repeat)", rankKv);
            if (repeated)
                Temp("v_proj output", rankKv);
            if (attention.Rotary && d < Sizes.Fp32)
                Saved("rotary cos/sin cast to the activation dtype (q and k)", 4 * pass.Queries * headDim * d);

            // Selective checkpointing stacks q, k, v as the checkpoint's input; the core's own saves exist only in recompute.
            if (selective && training)
            {
                Saved("q, k, v stacked (checkpoint input)", 3 * rankQ);
                list.Add(new Created(name, "gradient of the stacked q, k, v (returned by the checkpoint)", 3 * rankQ, false, false, false, true));
            }
            else
            {
                // In a recompute they are views of the stacked input; otherwise the core saves them itself.
                Core("q", rankQ);
                Core(repeated ? "k repeated to query heads" : "k", rankQ);
                Core(repeated ? "v repeated to query heads" : "v", rankQ);
            }

            // No fused kernel of TorchSharp 0.107 takes a window: a windowed block trains through the eager core.
            var fused = attention.Fused && (attention.SlidingWindow is null || !training);
            if (fused)
            {
                // Flash / memory-efficient kernels keep the output and the per-row log-sum-exp, never the s×s scores.
                Core("attention output", rankQ);
                Core("log-sum-exp (fp32)", b * heads * pass.Queries * Sizes.Fp32);
                // Generation past the first chunk (a decode step) passes the cache's mask of allowed keys, built as hidden keys and negated.
                if (!training && attention.Causal && (pass.Queries != pass.Keys || attention.SlidingWindow < pass.Keys))
                    Temp("attention masks (bool, hidden and allowed keys, b×q×k each)", 2 * b * pass.Queries * pass.Keys);
            }
            else
            {
                // After the core: its output, the context (a temporary in inference) and the o_proj output.
                var output = tokens * attention.Hidden.Value * d;
                var after = rankQ + (training && !quantized ? 0 : rankQ) + output;
                // Autocast's fp32 softmax runs in Attention.Core; a decoder's inference runs the cached path, whose softmax is 16-bit.
                if (autocast && (training || !attention.Causal))
                    AutocastEager(attention, d, pass, scores, heads, after, Temp, Core);
                else
                    Eager(attention, d, pass, scores, heads, after, Temp, Core);
            }
            if (fused)
            {
                if (quantized)
                    Temp("context (o_proj input)", rankQ);
                else
                    Saved("context (o_proj input)", rankQ);
                Temp("o_proj output", tokens * attention.Hidden.Value * d);
            }
            else if (training && !quantized)
            {
                Saved("context (o_proj input)", rankQ); // otherwise a temporary, counted in the eager core's `after`
            }
        }

        /// <summary>
        /// ModelGen's eager core as it runs (<c>Attention.Core</c> and <c>ScaledMaskedSoftmax</c>): q·kᵀ in the activation dtype; one
        /// fp32 working copy, masked and softmaxed in place (beside it briefly the q×k bool mask, then the fp32 row max and row sum);
        /// the probabilities cast to the activation dtype (in fp32 the working copy itself), the only s² tensor the softmax saves
        /// (Megatron's fused softmax, Korthikanti et al. 2022 §4.1: 2·a·s²·b in 16-bit); q·kᵀ and the working copy are freed as
        /// the softmax returns; then dropout's mask and dropped probabilities, p·v's output, and the o_proj output (<c>after</c>: those
        /// two, alive once the core's temporaries are freed).
        /// </summary>
        private static void Eager(AttentionSpec attention, int d, Pass pass, long scores, long heads, long after, System.Action<string, long> temp, System.Action<string, long> core)
        {
            var dropout = pass.Training && attention.DropoutP > 0;
            // Training runs Attention.Core: the q×k causal mask exists only while it is applied. Inference of a decoder runs the
            // cached path (Attention.Cached.cs), whose b×q×k mask of hidden keys lives through the whole core.
            var maskBytes = attention.Causal && pass.Training ? pass.Queries * pass.Keys * (attention.SlidingWindow is null ? 1 : 2) : 0;
            var cacheMask = attention.Causal && !pass.Training ? pass.Batch * pass.Queries * pass.Keys : 0;
            var rowStats = pass.Batch * heads * pass.Queries * Sizes.Fp32;
            var working = scores * Sizes.Fp32;
            // While the softmax runs: q·kᵀ, the fp32 working copy, and the largest of the mask, a row statistic, or (16-bit) the cast output.
            var softmax = (scores * d) + working + cacheMask + System.Math.Max(System.Math.Max(maskBytes, rowStats), d < Sizes.Fp32 ? scores * d : 0);
            // While dropout runs: the probabilities, its mask and the dropped probabilities (q·kᵀ and the working copy are gone).
            var maskElement = pass.Device.DropoutMaskIsBoolean ? 1 : d;
            var dropping = dropout ? (scores * d) + (scores * maskElement) + (scores * d) : 0;
            var peak = System.Math.Max(System.Math.Max(softmax, dropping), after);
            temp(peak == softmax ? "eager core at its softmax (q kᵀ, fp32 working copy, mask or row statistics, cast probabilities)"
                : peak == dropping ? "eager core at its dropout (probabilities, dropout mask, dropped probabilities)"
                : "attention output and o_proj output", peak);
            if (!pass.Training)
                return; // nothing is saved: the probabilities were part of the peak above
            core(d < Sizes.Fp32 ? "softmax output (16-bit, computed in fp32)" : "softmax output (fp32)", scores * d);
            if (dropout)
            {
                core(pass.Device.DropoutMaskIsBoolean ? "dropout mask (bool)" : "dropout noise", scores * maskElement);
                core("dropped probabilities (p·v input)", scores * d);
            }
            // Without dropout the softmax output is p·v's input, saved once.
        }

        /// <summary>
        /// The eager core under mixed precision as it runs (<c>Attention.AutocastEagerCore</c>): q·kᵀ at <paramref name="c"/> bytes, its
        /// fp32 cast (q·kᵀ freed at once), ScaledMaskedSoftmax's fp32 working copy, which is its output and what it saves (autocast's
        /// <c>softmax</c> is on the fp32 list); dropout's mask and fp32 dropped probabilities; the 16-bit cast of the probabilities
        /// that p·v saves.
        /// </summary>
        private static void AutocastEager(AttentionSpec attention, int c, Pass pass, long scores, long heads, long after, System.Action<string, long> temp, System.Action<string, long> core)
        {
            var dropout = pass.Training && attention.DropoutP > 0;
            var maskBytes = attention.Causal ? pass.Queries * pass.Keys * (attention.SlidingWindow is null ? 1 : 2) : 0;
            var rowStats = pass.Batch * heads * pass.Queries * Sizes.Fp32;
            // While the softmax runs: the fp32 scores and the fp32 working copy, with the mask or a row statistic (at the cast before
            // it, q·kᵀ and the fp32 scores: smaller).
            var softmax = (2 * scores * Sizes.Fp32) + System.Math.Max(maskBytes, rowStats);
            var maskElement = pass.Device.DropoutMaskIsBoolean ? 1 : Sizes.Fp32;
            // At p·v's cast: the fp32 probabilities, with dropout its mask and the fp32 dropped probabilities, and the 16-bit cast.
            var casting = (scores * Sizes.Fp32) + (dropout ? (scores * maskElement) + (scores * Sizes.Fp32) : 0) + (scores * c);
            var peak = System.Math.Max(System.Math.Max(softmax, casting), after);
            temp(peak == softmax ? "eager core at its fp32 softmax (fp32 scores, fp32 working copy, mask or row statistics)"
                : peak == casting ? "eager core at p·v's cast (fp32 probabilities, dropout mask and output, 16-bit cast)"
                : "attention output and o_proj output", peak);
            if (!pass.Training)
                return;
            core("softmax output (fp32, autocast)", scores * Sizes.Fp32);
            if (dropout)
                core(pass.Device.DropoutMaskIsBoolean ? "dropout mask (bool)" : "dropout noise", scores * maskElement);
            core("probabilities cast to 16-bit (p·v input)", scores * c);
        }
    }
}
