using System.Collections.Generic;
using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    public static partial class Remedies
    {
        /// <summary>Rank of the LoRA remedies (QLoRA's paper uses 64 for its largest runs; 16 is PEFT practice for 7–8B models).</summary>
        public const int LoraRank = 16;

        /// <summary>lora_alpha of the LoRA remedies: 2·r, the update scale alpha / r = 2.</summary>
        public const double LoraAlpha = 32;

        private static readonly string[] AttentionNames = { "q_proj", "k_proj", "v_proj", "o_proj" };
        private static readonly string[] MlpNames = { "gate_proj", "up_proj", "down_proj" };

        /// <summary>
        /// 8-bit AdamW states, LoRA and QLoRA, only where the runtime runs them: training without tensor parallelism or ZeRO
        /// (AdamW8Bit is a standalone, unsharded optimizer; adapters are whole on every rank), and no [LoRA] already in the model.
        /// QLoRA quantizes [Linear] blocks and the projections of unsharded Attention and FeedForward blocks (<see cref="QLoraQuantizes"/>).
        /// </summary>
        private static IEnumerable<(RemedyKind, string?, string?, int, string, ModelSpec, ScenarioSpec)> AdapterCandidates(ModelSpec model, ScenarioSpec scenario, HashSet<string> tried)
        {
            if (scenario.Workload != Workload.Training || scenario.TensorParallel > 1 || scenario.ZeroStage > 0)
                yield break;
            if (scenario.Optimizer == Optimizer.AdamW && !scenario.OffloadOptimizer)
                yield return (RemedyKind.Adam8BitStates, null, null, 0, "8-bit AdamW states (Optimizer = Optimizer.Adam8Bit)", model, scenario with { Optimizer = Optimizer.Adam8Bit });
            if (LoraTerms.HasAdapters(model))
                yield break;
            var targets = LoraTargets(model);
            if (targets.Count == 0)
                yield break;
            var lora = new LoraSpec(LoraRank, LoraAlpha, 0, targets.ToEquatableArray());
            var adapted = model with { Root = model.Root with { Lora = lora } };
            var joined = string.Join(",", targets);
            var scope = Scope(targets);
            yield return (RemedyKind.Lora, model.Root.Name, joined, 0, $"LoRA r={LoraRank} on {scope} ([LoRA] on {model.Root.Name})", adapted, scenario);
            foreach (var layer in model.Layers.Where(l => tried.Contains(l.Name) && l.Blocks.Any(QLoraQuantizes)))
            {
                var quant = new QuantSpec(QuantKind.NF4, 64, false);
                var blocks = layer.Blocks.Select(b => QLoraQuantizes(b) ? b with { Quant = quant } : b).ToEquatableArray();
                yield return (RemedyKind.QLora, layer.Name, joined, 0,
                    $"QLoRA r={LoraRank} on {scope}, {layer.Name}'s {QuantizedKinds(layer)} in NF4 ([LoRA] on {model.Root.Name}, [Quantize(QuantKind.NF4)])",
                    Replace(adapted, layer, layer with { Blocks = blocks }), scenario);
            }
        }

        /// <summary>
        /// The blocks QLoRA quantizes: plain [Linear] blocks (not tied), and Attention / FeedForward blocks, whose projections become
        /// QuantizedLinear (not sharded: their tensor-parallel form keeps dense projections, MG0307). The code fix marks the same blocks.
        /// </summary>
        public static bool QLoraQuantizes(BlockSpec block) =>
            block is LinearSpec { Quant: null, TiedTo: null } || (block is AttentionSpec or FeedForwardSpec && block.Quant is null && block.Shard == ShardStyle.None);

        private static string QuantizedKinds(LayerSpec layer)
        {
            var kinds = new List<string>();
            if (layer.Blocks.Any(b => b is LinearSpec && QLoraQuantizes(b))) kinds.Add("Linear");
            if (layer.Blocks.Any(b => b is AttentionSpec && QLoraQuantizes(b))) kinds.Add("Attention");
            if (layer.Blocks.Any(b => b is FeedForwardSpec && QLoraQuantizes(b))) kinds.Add("FeedForward");
            return kinds.Count == 1 ? kinds[0] + " blocks" : string.Join(", ", kinds.Take(kinds.Count - 1)) + " and " + kinds[kinds.Count - 1] + " blocks";
        }

        /// <summary>The projections a default LoRA adapts in <paramref name="model"/> (what the LoRA remedies and the tool's <c>--lora</c> use).</summary>
        public static IReadOnlyList<string> DefaultLoraTargets(ModelSpec model) => LoraTargets(model);

        /// <summary>
        /// The projections the LoRA remedies adapt: every Attention / FeedForward projection and [Linear] block of the model's layers;
        /// for a model without layers, its own Linear blocks but the last (the output head). Names as the runtime matches them.
        /// </summary>
        private static List<string> LoraTargets(ModelSpec model)
        {
            IEnumerable<BlockSpec> blocks = model.Layers.Count > 0
                ? model.Layers.SelectMany(l => l.Blocks)
                : model.Root.Blocks.Take(model.Root.Blocks.Count - 1);
            return blocks.Where(b => b is not LinearSpec { TiedTo: not null })
                .SelectMany(b => LoraTerms.Projections(b).Select(p => p.Name)).Distinct().ToList();
        }

        private static string Scope(List<string> targets)
        {
            var attention = AttentionNames.All(targets.Contains);
            var mlp = MlpNames.Count(targets.Contains) >= 2;
            var others = targets.Where(t => !AttentionNames.Contains(t) && !MlpNames.Contains(t)).ToList();
            if (attention && mlp && others.Count == 0)
                return "attention and MLP";
            return string.Join(", ", targets);
        }
    }
}
