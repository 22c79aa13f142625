using System.Collections.Generic;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// The tensors ModelGen's <c>Attention</c> creates: q/k/v projections of one shared input, optional rotary embedding, key/value
    /// heads repeated to the query heads (GQA/MQA), the core — eager <c>softmax(q kᵀ/√d + mask) v</c> with scores upcast to fp32
    /// before the mask and softmax, or fused <c>scaled_dot_product_attention</c> — and the output projection.
    /// </summary>
    internal static class AttentionForward
    {
        public static void Add(AttentionSpec attention, int d, Pass pass, int t, bool selective, List<Created> list)
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
                Temp("dequantized weight (largest projection)", QuantizedProjections.DequantizedWeightBytes(attention, d));
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

            if (attention.Fused)
            {
                // Flash / memory-efficient kernels keep the output and the per-row log-sum-exp, never the s×s scores.
                Core("attention output", rankQ);
                Core("log-sum-exp (fp32)", b * heads * pass.Queries * Sizes.Fp32);
            }
            else
            {
                Eager(attention, d, pass, scores, Temp, Core);
                Temp("attention output", rankQ);
            }
            if (quantized)
                Temp("context (o_proj input)", rankQ);
            else
                Saved("context (o_proj input)", rankQ);
            Temp("o_proj output", tokens * attention.Hidden.Value * d);
        }

        private static void Eager(AttentionSpec attention, int d, Pass pass, long scores, System.Action<string, long> temp, System.Action<string, long> core)
        {
            var dropout = pass.Training && attention.DropoutP > 0;
            temp("q kᵀ", scores * d);
            if (d < Sizes.Fp32)
                temp("scores cast to fp32", scores * Sizes.Fp32);
            temp("scaled scores (fp32)", scores * Sizes.Fp32);
            if (attention.Causal)
            {
                if (pass.Training)
                    core("causal mask (bool, s×s)", pass.Queries * pass.Keys);
                else // inference runs the KV-cached forward: its key mask is [b, q, k] bool, built as three tensors (docs/memory-check.md)
                    temp("key mask (bool, 3 × b×q×k: padding and, sees-nothing or, not)", 3 * pass.Batch * pass.Queries * pass.Keys);
                temp("masked scores (fp32)", scores * Sizes.Fp32);
            }
            core("softmax output (fp32)", scores * Sizes.Fp32);
            if (dropout)
            {
                if (d < Sizes.Fp32)
                    temp("probabilities cast", scores * d);
                core(pass.Device.DropoutMaskIsBoolean ? "dropout mask (bool)" : "dropout noise", scores * (pass.Device.DropoutMaskIsBoolean ? 1 : d));
                core("dropped probabilities (p·v input)", scores * d);
            }
            else if (d < Sizes.Fp32)
            {
                core("probabilities cast (p·v input)", scores * d);
            }
            // fp32 without dropout: the softmax output is p·v's input, saved once.
        }
    }
}
