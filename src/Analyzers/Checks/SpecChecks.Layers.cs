using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Diagnostics;
using ModelGen.Parsing;
using ModelGen.Quantization;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Checks
{
    /// <summary>
    /// Checks over specs, as pure functions: no Roslyn symbols, no syntax. The analyzers map each <see cref="SpecFinding"/>
    /// to a location; tests call these directly.
    /// </summary>
    public static partial class SpecChecks
    {

        /// <summary>Checks one layer on its own: sizes, attention shape, arguments, shard styles, quantization, ties, state names.</summary>
        public static IReadOnlyList<SpecFinding> CheckLayer(LayerSpec layer)
        {
            var findings = new List<SpecFinding>();
            foreach (var block in layer.Blocks)
            {
                CheckSizes(block, findings);
                CheckArguments(block, findings);
                CheckShardStyle(block, findings);
                CheckQuantization(block, findings);
                CheckMixtureOfExperts(block, findings); // SpecChecks.MixtureOfExperts.cs
            }
            CheckStateNames(layer, findings);
            if (layer.Checkpoint == CheckpointMode.Selective && !layer.Blocks.Any(b => b is AttentionSpec))
                findings.Add(SpecFinding.Create(Descriptors.SelectiveWithoutAttention, null, KnownNames.CheckpointAttribute, layer.Name));
            return findings;
        }

        /// <summary>
        /// Checks <c>[Checkpoint(Every = k)]</c> on a stack. Read from the attribute, because the spec's 0 also means
        /// "no attribute".
        /// </summary>
        public static IReadOnlyList<SpecFinding> CheckCheckpointEvery(string block, int every) =>
            every >= 1
                ? Array.Empty<SpecFinding>()
                : new[] { SpecFinding.Create(Descriptors.BadArgument, block, KnownNames.CheckpointAttribute, block, $"Checkpoint Every = {every} must be at least 1 (1 checkpoints every repeat)") };

        /// <summary>The attribute that declares <paramref name="block"/>'s kind, e.g. <c>ModelGen.LinearAttribute</c>.</summary>
        public static string? KindAttribute(BlockSpec block) => block switch
        {
            LinearSpec => KnownNames.LinearAttribute,
            EmbeddingSpec => KnownNames.EmbeddingAttribute,
            LayerNormSpec => KnownNames.LayerNormAttribute,
            RmsNormSpec => KnownNames.RmsNormAttribute,
            DropoutSpec => KnownNames.DropoutAttribute,
            AttentionSpec => KnownNames.AttentionAttribute,
            FeedForwardSpec => KnownNames.FeedForwardAttribute,
            PoolerSpec => KnownNames.PoolerAttribute,
            MixtureOfExpertsSpec => KnownNames.MixtureOfExpertsAttribute,
            LayerRefSpec => KnownNames.SublayerAttribute,
            StackSpec => KnownNames.StackAttribute,
            CrossAttentionSpec => KnownNames.CrossAttentionAttribute,
            RelativeAttentionSpec => KnownNames.RelativeAttentionAttribute,
            _ => null,
        };

        /// <summary>The block's kind with its article, for messages: "a Linear", "an Embedding".</summary>
        public static string Describe(BlockSpec block) => block switch
        {
            LinearSpec => "a Linear",
            EmbeddingSpec => "an Embedding",
            LayerNormSpec => "a LayerNorm",
            RmsNormSpec => "an RmsNorm",
            DropoutSpec => "a Dropout",
            AttentionSpec => "an Attention block",
            FeedForwardSpec => "a FeedForward block",
            PoolerSpec => "a Pooler",
            MixtureOfExpertsSpec => "a MixtureOfExperts block",
            LayerRefSpec => "a sublayer",
            StackSpec => "a stack",
            CrossAttentionSpec => "a CrossAttention block",
            RelativeAttentionSpec => "a RelativeAttention block",
            _ => "a block",
        };

        // Arrays, not IEnumerable, and an empty array of this class: the runtime's array enumerator and Array.Empty over a tuple
        // holding a struct would be compiled just in time in every compiler process (docs/benchmarks-analyzers.md).
        private static readonly (string Name, Dim Size)[] NoSizes = new (string, Dim)[0];

        private static (string Name, Dim Size)[] Sizes(BlockSpec block) => block switch
        {
            LinearSpec l => new[] { ("In", l.In), ("Out", l.Out) },
            EmbeddingSpec e => new[] { ("Count", e.Count), ("Width", e.Width) },
            LayerNormSpec n => new[] { ("Hidden", n.Hidden) },
            RmsNormSpec n => new[] { ("Hidden", n.Hidden) },
            AttentionSpec a => new[] { ("Hidden", a.Hidden), ("Heads", a.Heads), ("KvHeads", a.KvHeads) },
            FeedForwardSpec f => new[] { ("Hidden", f.Hidden), ("Inner", f.Inner) },
            PoolerSpec p => new[] { ("Hidden", p.Hidden) },
            MixtureOfExpertsSpec m => new[] { ("Hidden", m.Hidden), ("Inner", m.Inner) }, // Experts and TopK: MG0542
            StackSpec s => new[] { ("Count", s.Count) },
            _ => NoSizes,
        };

        private static void CheckSizes(BlockSpec block, List<SpecFinding> findings)
        {
            foreach (var (name, size) in Sizes(block))
            {
                if (size.Value < 1)
                    findings.Add(SpecFinding.Create(Descriptors.NonPositiveSize, block.Name, KindAttribute(block), block.Name, Show(name, size)));
            }
            if (block is not AttentionSpec attention || attention.Heads.Value < 1 || attention.KvHeads.Value < 1 || attention.Hidden.Value < 1)
                return;
            var kind = KnownNames.AttentionAttribute;
            if (attention.Heads.Value % attention.KvHeads.Value != 0)
                findings.Add(SpecFinding.Create(Descriptors.HeadsNotDivisibleByKvHeads, block.Name, kind, block.Name, Show("Heads", attention.Heads), Show("KvHeads", attention.KvHeads)));
            if (attention.Hidden.Value % attention.Heads.Value != 0)
                findings.Add(SpecFinding.Create(Descriptors.HiddenNotDivisibleByHeads, block.Name, kind, block.Name, Show("Hidden", attention.Hidden), Show("Heads", attention.Heads)));
            else if (attention.Rotary && attention.Hidden.Value / attention.Heads.Value % 2 != 0)
                findings.Add(SpecFinding.Create(Descriptors.RotaryOddHeadDim, block.Name, kind, block.Name, attention.Hidden.Value / attention.Heads.Value));
        }

        private static void CheckArguments(BlockSpec block, List<SpecFinding> findings)
        {
            var kind = KindAttribute(block);
            void Bad(string problem) => findings.Add(SpecFinding.Create(Descriptors.BadArgument, block.Name, kind, block.Name, problem));
            switch (block)
            {
                case DropoutSpec { P: var p } when !IsProbability(p):
                    Bad($"Dropout p = {Format(p)} must be in [0, 1)");
                    break;
                case AttentionSpec attention:
                    if (!IsProbability(attention.DropoutP))
                        Bad($"Attention Dropout = {Format(attention.DropoutP)} must be in [0, 1)");
                    if (attention.Rotary && !(attention.RopeTheta > 0 && !double.IsInfinity(attention.RopeTheta)))
                        Bad($"RopeTheta = {Format(attention.RopeTheta)} must be a positive finite number");
                    break;
                case LayerNormSpec { Eps: var eps } when !(eps > 0):
                    Bad($"LayerNorm Eps = {Format(eps)} must be positive");
                    break;
                case RmsNormSpec { Eps: var eps } when !(eps > 0):
                    Bad($"RmsNorm Eps = {Format(eps)} must be positive");
                    break;
            }
        }

        // Written so that NaN fails too.
        private static bool IsProbability(double p) => p >= 0 && p < 1;

        private static void CheckShardStyle(BlockSpec block, List<SpecFinding> findings)
        {
            if (block.Shard == ShardStyle.None)
                return;
            var allowed = AllowedShardStyles(block);
            if (allowed.Contains(block.Shard))
                return;
            var hint = allowed.Length == 0
                ? "only Linear, Embedding, Attention and FeedForward blocks are sharded"
                : "use " + string.Join(" or ", allowed.Select(s => "ShardStyle." + s));
            findings.Add(SpecFinding.Create(Descriptors.ShardNotSupported, block.Name, KnownNames.ShardAttribute, block.Name, Describe(block), "by " + block.Shard, hint));
        }

        /// <summary>The shard styles a block supports: Linear Column/Row, Embedding Vocab, Attention/FeedForward Column (Megatron-style).</summary>
        public static ShardStyle[] AllowedShardStyles(BlockSpec block) => block switch
        {
            LinearSpec => new[] { ShardStyle.Column, ShardStyle.Row },
            EmbeddingSpec => new[] { ShardStyle.Vocab },
            AttentionSpec or FeedForwardSpec => new[] { ShardStyle.Column },
            _ => Array.Empty<ShardStyle>(),
        };

        private static void CheckQuantization(BlockSpec block, List<SpecFinding> findings)
        {
            if (block.Quant is not { } quant)
                return;
            var attribute = KnownNames.QuantizeAttribute;
            if (block is not (LinearSpec or AttentionSpec or FeedForwardSpec))
            {
                findings.Add(SpecFinding.Create(Descriptors.QuantizeNotSupported, block.Name, attribute, block.Name, Describe(block)));
                return;
            }
            // [Quantize] with [Shard] on an Attention or FeedForward builds QuantizedParallelLinear projections (docs/tensor-parallel.md);
            // MG0307 is no longer reported, and a degree whose row-parallel slices split the groups is MG0212 (TensorParallelSupport).
            var supported = QuantLayout.SupportedGroupSizes(quant.Kind);
            var groupValid = quant.Kind == QuantKind.Int8 ? quant.GroupSize == 0 : supported.Contains(quant.GroupSize);
            if (!groupValid)
            {
                var hint = quant.Kind == QuantKind.Int8
                    ? "int8 keeps one scale per output channel; remove GroupSize"
                    : $"use {string.Join(", ", supported)}";
                findings.Add(SpecFinding.Create(Descriptors.BadGroupSize, block.Name, attribute, block.Name, quant.Kind, quant.GroupSize, hint));
            }
            else if (quant.GroupSize > 0 && QuantizedInputs(block).FirstOrDefault(i => i.Size.Value > 0 && i.Size.Value % quant.GroupSize != 0) is { Name: not null } bad)
            {
                findings.Add(SpecFinding.Create(Descriptors.GroupSizeNotDividing, block.Name, attribute, block.Name, quant.GroupSize, Show(bad.Name, bad.Size)));
            }
            if (quant.DoubleQuant && quant.Kind != QuantKind.NF4)
                findings.Add(SpecFinding.Create(Descriptors.DoubleQuantNotNf4, block.Name, attribute, block.Name, quant.Kind));
        }

        /// <summary>The input sizes of the weights [Quantize] splits into groups: a Linear's In; every projection's input of an Attention or FeedForward.</summary>
        private static IEnumerable<(string Name, Dim Size)> QuantizedInputs(BlockSpec block) => block switch
        {
            LinearSpec l => new[] { ("In", l.In) },
            AttentionSpec a => new[] { ("Hidden", a.Hidden) }, // q/k/v read Hidden; o reads heads · headDim = Hidden
            FeedForwardSpec f => new[] { ("Hidden", f.Hidden), ("Inner", f.Inner) },
            _ => Array.Empty<(string, Dim)>(),
        };

        private static void CheckStateNames(LayerSpec layer, List<SpecFinding> findings)
        {
            var owners = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var block in layer.Blocks)
            {
                if (owners.TryGetValue(block.StateName, out var first))
                    findings.Add(SpecFinding.Create(Descriptors.DuplicateStateName, block.Name, null, first, block.Name, layer.Name, block.StateName));
                else
                    owners.Add(block.StateName, block.Name);
            }
            // A dotted name makes each of its prefixes a container (attention.self.query needs attention and attention.self):
            // a block named like one of those prefixes would take the container's key.
            foreach (var block in layer.Blocks)
            {
                var name = block.StateName;
                for (var dot = name.IndexOf('.'); dot > 0; dot = name.IndexOf('.', dot + 1))
                {
                    if (owners.TryGetValue(name.Substring(0, dot), out var prefixOwner) && prefixOwner != block.Name)
                        findings.Add(SpecFinding.Create(Descriptors.DuplicateStateName, block.Name, null, prefixOwner, block.Name, layer.Name, name.Substring(0, dot)));
                }
            }
        }

        /// <summary>A size with its label: <c>Heads = 32</c>, or <c>In = Ffn (14336)</c> when a config member gives it.</summary>
        public static string Show(string label, Dim size) =>
            size.Member is null || size.Member == label ? $"{label} = {size.Value}" : $"{label} = {size.Member} ({size.Value})";

        private static string Format(double value) =>
            double.IsNaN(value) || double.IsInfinity(value)
                ? value.ToString(System.Globalization.CultureInfo.InvariantCulture)
                : value.ToString("0.######", System.Globalization.CultureInfo.InvariantCulture);
    }
}
