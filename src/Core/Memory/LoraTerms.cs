using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// What LoRA adapters (Hu et al. 2021) and 8-bit AdamW states (Dettmers et al. 2022) add to a block, as ModelGen's runtime holds
    /// them (src/Runtime/Adapters, src/Runtime/Optimizers/AdamW8Bit.cs; byte table in docs/lora.md). A model with any LoRA scope
    /// trains only its adapters (<c>LoRA.FreezeAllButAdapters</c>): every base parameter is frozen.
    /// </summary>
    internal static class LoraTerms
    {
        /// <summary>Tensors below this many elements keep two fp32 moments in AdamW8Bit (bitsandbytes' <c>min_8bit_size</c>).</summary>
        public const long EightBitMinSize = 4096;

        /// <summary>Elements sharing one fp32 absmax per moment in AdamW8Bit.</summary>
        public const long EightBitBlockSize = 2048;

        /// <summary>Elements AdamW8Bit updates at a time: its step temporaries are about six fp32 copies of one such chunk.</summary>
        public const long EightBitChunkElements = 1 << 20;

        /// <summary>fp32 chunk-sized temporaries of one AdamW8Bit update (gradient, two moments, working copy, square root, denominator).</summary>
        public const int EightBitStepCopies = 6;

        /// <summary>AdamW8Bit.StateBytesFor: <c>2·n + 8·⌈n/2048⌉</c> for n ≥ 4096, else <c>8·n</c> (Dettmers et al. 2022, §2).</summary>
        public static long EightBitStateBytes(long elements) =>
            elements >= EightBitMinSize ? (2 * elements) + (2 * Sizes.Fp32 * ((elements + EightBitBlockSize - 1) / EightBitBlockSize)) : 2 * Sizes.Fp32 * elements;

        /// <summary>True when any class or block of <paramref name="model"/> carries <c>[LoRA]</c>: then every base parameter is frozen.</summary>
        public static bool HasAdapters(ModelSpec model) =>
            new[] { model.Root }.Concat(model.Layers).Any(l => l.Lora is not null || l.Blocks.Any(b => b.Lora is not null));

        /// <summary>The Linear projections an adapter can attach to, with their PEFT names and full (unsharded) sizes.</summary>
        public static IEnumerable<Projection> Projections(BlockSpec block)
        {
            switch (block)
            {
                case LinearSpec linear:
                    yield return new Projection(linear.StateName, linear.In.Value, linear.Out.Value);
                    break;
                case AttentionSpec attention:
                {
                    var hidden = attention.Hidden.Value;
                    var headDim = hidden / attention.Heads.Value;
                    var q = attention.Heads.Value * headDim;
                    var kv = attention.KvHeads.Value * headDim;
                    yield return new Projection("q_proj", hidden, q);
                    yield return new Projection("k_proj", hidden, kv);
                    yield return new Projection("v_proj", hidden, kv);
                    yield return new Projection("o_proj", q, hidden);
                    break;
                }
                case CrossAttentionSpec or RelativeAttentionSpec: // docs/encoder-decoder.md: four hidden × hidden projections
                {
                    var hidden = block is CrossAttentionSpec cross ? cross.Hidden.Value : ((RelativeAttentionSpec)block).Hidden.Value;
                    foreach (var projection in new[] { "q_proj", "k_proj", "v_proj", "o_proj" })
                        yield return new Projection(projection, hidden, hidden);
                    break;
                }
                case FeedForwardSpec feedForward:
                    if (feedForward.Gated)
                        yield return new Projection("gate_proj", feedForward.Hidden.Value, feedForward.Inner.Value);
                    yield return new Projection("up_proj", feedForward.Hidden.Value, feedForward.Inner.Value);
                    yield return new Projection("down_proj", feedForward.Inner.Value, feedForward.Hidden.Value);
                    break;
            }
        }

        /// <summary>The projections of <paramref name="block"/> that <paramref name="lora"/> adapts (LoraOptions' suffix match; no targets = every Linear).</summary>
        public static List<Projection> Adapted(BlockSpec block, LoraSpec? lora)
        {
            var adapted = new List<Projection>();
            if (lora is null)
                return adapted;
            foreach (var p in Projections(block))
            {
                if (lora.Targets.Count == 0 || lora.Targets.Contains(p.Name))
                    adapted.Add(p);
            }
            return adapted;
        }

        /// <summary>
        /// The block's tensors in a LoRA model: base tensors frozen, plus A <c>[r, in]</c> and B <c>[out, r]</c> per adapted projection,
        /// trainable, in the block's compute dtype (LoraOptions.AdapterDtype null), whole on every rank.
        /// </summary>
        public static List<ParameterTensor> Parameters(BlockSpec block, LoraSpec? scope, bool loraModel, List<ParameterTensor> tensors, int elementBytes)
        {
            if (!loraModel)
                return tensors;
            scope = block.Lora ?? scope; // [LoRA] on the block's property is the nearest scope
            var list = tensors.Select(t => t with { Trainable = false }).ToList();
            foreach (var (name, inFeatures, outFeatures) in Adapted(block, scope))
            {
                var a = (long)scope!.Rank * inFeatures;
                var b = outFeatures * scope.Rank;
                list.Add(new ParameterTensor(name + ".lora_A.weight", a, a, a * elementBytes, elementBytes, true, 0));
                list.Add(new ParameterTensor(name + ".lora_B.weight", b, b, b * elementBytes, elementBytes, true, 0));
            }
            return list;
        }

        /// <summary>
        /// The block's forward tensors in a LoRA model. A frozen Linear saves nothing for its input (torch's linear saves x only for
        /// the weight's gradient), so a plain Linear that carries no adapter loses its saved input; an adapted one keeps it (A saves
        /// the same x). Per adapter: A's output (saved by B), the input A saves when the base did not (a quantized base), and with
        /// dropout the dropped input and its mask; forward temporaries A's output, the update and the sum.
        /// </summary>
        public static IEnumerable<Created> Forward(BlockSpec block, LoraSpec? scope, bool loraModel, int d, Pass pass, List<Created> created)
        {
            if (!loraModel)
                return created;
            scope = block.Lora ?? scope; // [LoRA] on the block's property is the nearest scope
            var adapted = Adapted(block, scope);
            var list = created.Where(c => !(pass.Training && block is LinearSpec { Quant: null } && adapted.Count == 0 && c.Saved && c.Name == "input")).ToList();
            var tokens = pass.Tokens;
            // A quantized base saves no input, so A keeps its own: one tensor for the adapters that read the same input (q, k, v).
            if (pass.Training && scope is { Dropout: 0 } && block.Quant is not null && block is LinearSpec or AttentionSpec or FeedForwardSpec)
            {
                foreach (var (input, width) in QuantizedProjections.Inputs(block, adapted))
                    list.Add(new Created(block.Name, input + " (saved by lora_A)", tokens * width * d, true, true));
            }
            foreach (var (name, inFeatures, _) in adapted)
            {
                var r = (long)scope!.Rank;
                if (pass.Training)
                {
                    list.Add(new Created(block.Name, name + " lora_A output", tokens * r * d, true, true));
                    if (scope.Dropout > 0)
                    {
                        list.Add(new Created(block.Name, name + " lora dropped input", tokens * inFeatures * d, true, true));
                        list.Add(new Created(block.Name, name + " lora dropout mask", tokens * inFeatures * (pass.Device.DropoutMaskIsBoolean ? 1 : d), true, true));
                    }
                }
            }
            if (adapted.Count > 0)
            {
                // Projections run one after another: the largest adapter's A output, update and sum are live at once.
                var live = long.MinValue;
                foreach (var p in adapted)
                    live = Math.Max(live, (tokens * scope!.Rank * d) + (2 * tokens * p.Out * d));
                list.Add(new Created(block.Name, "lora forward (A output, update, sum)", live, false, false));
            }
            return list;
        }
    }

    /// <summary>A Linear projection an adapter can attach to: its PEFT name and full (unsharded) input and output features.</summary>
    /// <remarks>A class, not a value tuple: LINQ and lists over a tuple are compiled just in time in every compiler process.</remarks>
    internal sealed record Projection(string Name, long In, long Out);
}
