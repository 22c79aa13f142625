using System.Collections.Generic;
using System.Linq;
using ModelGen.Diagnostics;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Checks
{
    public static partial class SpecChecks
    {
        /// <summary>
        /// Checks the values of one budget: sequence length, batch, size, parallel degrees and ZeRO stage.
        /// Findings have no block; the analyzer reports them on the <c>[VramBudget]</c> attribute.
        /// </summary>
        public static IReadOnlyList<SpecFinding> CheckScenario(string model, ScenarioSpec scenario)
        {
            var findings = new List<SpecFinding>();
            void Bad(string problem) => findings.Add(SpecFinding.Create(Descriptors.BadScenario, null, null, model, problem));
            if (scenario.SequenceLength < 1)
                Bad($"SequenceLength = {scenario.SequenceLength} must be at least 1");
            if (scenario.Batch < 1)
                Bad($"Batch = {scenario.Batch} must be at least 1");
            if (double.IsNaN(scenario.Gigabytes) || double.IsInfinity(scenario.Gigabytes))
                findings.Add(SpecFinding.Create(Descriptors.NonFiniteBudget, null, null, model, scenario.Gigabytes.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            else if (!(scenario.Gigabytes >= 0))
                Bad($"the budget of {scenario.Gigabytes.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} GB must not be negative");
            if (scenario.TensorParallel < 1)
                findings.Add(SpecFinding.Create(Descriptors.BadParallelDegree, null, null, model, "TensorParallel", scenario.TensorParallel));
            if (scenario.DataParallel < 1)
                findings.Add(SpecFinding.Create(Descriptors.BadParallelDegree, null, null, model, "DataParallel", scenario.DataParallel));
            if (scenario.ZeroStage is < 0 or > 3)
                findings.Add(SpecFinding.Create(Descriptors.BadZeroStage, null, null, model, scenario.ZeroStage));
            else if (scenario.ZeroStage > 0 && scenario.DataParallel == 1)
                findings.Add(SpecFinding.Create(Descriptors.ZeroWithoutDataParallel, null, null, model, scenario.ZeroStage));
            return findings;
        }

        /// <summary>
        /// Checks that an inference budget sets nothing that only training has. <paramref name="namedArguments"/> are the names
        /// the attribute sets explicitly, because the spec's Optimizer default (AdamW) cannot tell "not given" from "given".
        /// </summary>
        public static IReadOnlyList<SpecFinding> CheckInferenceSettings(string model, ScenarioSpec scenario, IEnumerable<string> namedArguments)
        {
            var findings = new List<SpecFinding>();
            if (scenario.Workload != Workload.Inference)
                return findings;
            void Useless(string setting) => findings.Add(SpecFinding.Create(Descriptors.InferenceWithTrainingSetting, null, null, model, setting));
            if (namedArguments.Contains("Optimizer"))
                Useless($"Optimizer = {scenario.Optimizer}");
            if (scenario.OffloadOptimizer)
                Useless("OffloadOptimizer");
            if (scenario.ZeroStage is 1 or 2)
                Useless($"ZeroStage = {scenario.ZeroStage} (it splits optimizer state and gradients)");
            return findings;
        }

        /// <summary>
        /// Checks that every sharded block of the model splits evenly over the scenario's tensor-parallel ranks
        /// (Column: Out; Row: In; Vocab: Count; Attention: Heads and KvHeads; FeedForward: Inner), and that something is sharded at all.
        /// Blocks whose shard style is invalid are left to <see cref="CheckLayer"/>.
        /// </summary>
        public static IReadOnlyList<SpecFinding> CheckSharding(ModelSpec model, ScenarioSpec scenario)
        {
            var findings = new List<SpecFinding>();
            var ranks = scenario.TensorParallel;
            if (ranks <= 1)
                return findings;
            var anySharded = false;
            var uneven = new HashSet<(string Layer, string Block)>();
            foreach (var layer in new[] { model.Root }.Concat(model.Layers))
            {
                foreach (var block in layer.Blocks.Where(b => b.Shard != ShardStyle.None))
                {
                    anySharded = true;
                    if (!AllowedShardStyles(block).Contains(block.Shard))
                        continue;
                    foreach (var (label, size) in SplitSizes(block))
                    {
                        // Fewer key/value heads than ranks is fine when the degree is a multiple of them: TensorParallelAttention
                        // gives each rank one key/value head, replicated on ranks / kvHeads ranks (docs/tensor-parallel.md).
                        if (label == "KvHeads" && size.Value > 0 && size.Value < ranks && ranks % size.Value == 0)
                            continue;
                        if (size.Value > 0 && size.Value % ranks != 0)
                        {
                            uneven.Add((layer.Name, block.Name));
                            findings.Add(SpecFinding.Create(Descriptors.ShardNotDivisible, null, null, ranks, layer.Name, block.Name, block.Shard, Show(label, size)));
                        }
                    }
                }
            }
            if (!anySharded)
                findings.Add(SpecFinding.Create(Descriptors.TensorParallelWithoutShards, null, null, model.Root.Name, ranks));
            findings.AddRange(CheckShardedConstruction(model, scenario, uneven));
            return findings;
        }

        /// <summary>The sizes a sharded block divides across tensor-parallel ranks.</summary>
        private static (string Label, Dim Size)[] SplitSizes(BlockSpec block) => (block, block.Shard) switch
        {
            (LinearSpec l, ShardStyle.Column) => new[] { ("Out", l.Out) },
            (LinearSpec l, ShardStyle.Row) => new[] { ("In", l.In) },
            (EmbeddingSpec e, ShardStyle.Vocab) => new[] { ("Count", e.Count) },
            (AttentionSpec a, ShardStyle.Column) => new[] { ("Heads", a.Heads), ("KvHeads", a.KvHeads) },
            (FeedForwardSpec f, ShardStyle.Column) => new[] { ("Inner", f.Inner) },
            _ => NoSizes, // an array, as Sizes (SpecChecks.Layers.cs) says why
        };
    }
}
