using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using ModelGen.Diagnostics;
using ModelGen.Specs;

namespace ModelGen.Parsing
{
    public static partial class LayerParser
    {
        /// <summary>The class's own <c>[LoRA]</c> as a spec, or null; settings the runtime's <c>LoraOptions</c> refuses are MG0306.</summary>
        internal static LoraSpec? ReadLora(INamedTypeSymbol type, LocationInfo? location, List<DiagnosticInfo> diagnostics)
        {
            var attribute = AttributeReader.Find(type, KnownNames.LoRAAttribute);
            return attribute is null ? null : ReadLora(attribute, type.Name, LocationInfo.From(AttributeReader.LocationOf(attribute)) ?? location, diagnostics);
        }

        /// <summary>
        /// <paramref name="block"/> with the <c>[LoRA]</c> of its property, if any: its own scope (docs/lora.md). Only blocks with
        /// Linear projections take one (MG0308), and its targets must be among the block's projections (MG0309).
        /// </summary>
        internal static BlockSpec WithBlockLora(IPropertySymbol property, BlockSpec block, List<DiagnosticInfo> diagnostics)
        {
            var attribute = AttributeReader.Find(property, KnownNames.LoRAAttribute);
            if (attribute is null)
                return block;
            var at = LocationInfo.From(AttributeReader.LocationOf(attribute)) ?? LocationInfo.From(property.Locations.FirstOrDefault());
            var projections = ProjectionNames(block);
            if (block is not (LinearSpec or AttentionSpec or FeedForwardSpec or CrossAttentionSpec or RelativeAttentionSpec) || projections.Count == 0)
            {
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.LoraOnBlockWithoutProjections, at, property.Name, Describe(block)));
                return block;
            }
            var lora = ReadLora(attribute, property.Name, at, diagnostics);
            if (lora is null)
                return block;
            foreach (var target in lora.Targets.Where(t => !projections.Contains(t)))
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.LoraTargetNotInBlock, at, property.Name, target, string.Join(", ", projections)));
            return block with { Lora = lora };
        }

        private static LoraSpec? ReadLora(AttributeData attribute, string owner, LocationInfo? at, List<DiagnosticInfo> diagnostics)
        {
            var rank = AttributeReader.Argument(attribute, 0).Value is int r ? r : 0;
            var targetsArgument = AttributeReader.Argument(attribute, 1);
            var targets = targetsArgument.Kind == TypedConstantKind.Array && !targetsArgument.IsNull
                ? targetsArgument.Values.Select(v => v.Value as string ?? "").ToArray()
                : Array.Empty<string>();
            var alpha = AttributeReader.Named(attribute, "Alpha", 16.0);
            var dropout = AttributeReader.Named(attribute, "Dropout", 0.0);
            string? problem =
                rank < 1 ? $"the rank must be at least 1, got {rank}" :
                !(alpha > 0) || double.IsInfinity(alpha) ? $"Alpha must be positive and finite, got {alpha.ToString(System.Globalization.CultureInfo.InvariantCulture)}" :
                !(dropout >= 0 && dropout < 1) ? $"Dropout must be in [0, 1), got {dropout.ToString(System.Globalization.CultureInfo.InvariantCulture)}" :
                targets.Any(string.IsNullOrWhiteSpace) ? "a target name is empty" :
                null;
            if (problem is not null)
            {
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.BadLora, at, owner, problem));
                return null;
            }
            return new LoraSpec(rank, alpha, dropout, targets.ToEquatableArray());
        }

        /// <summary>The names the runtime's LoRA matches inside a block (as the memory model's LoraTerms.Projections lists them).</summary>
        private static List<string> ProjectionNames(BlockSpec block) => block switch
        {
            LinearSpec linear => new List<string> { linear.StateName },
            AttentionSpec or CrossAttentionSpec or RelativeAttentionSpec => new List<string> { "q_proj", "k_proj", "v_proj", "o_proj" },
            FeedForwardSpec { Gated: true } => new List<string> { "gate_proj", "up_proj", "down_proj" },
            FeedForwardSpec => new List<string> { "up_proj", "down_proj" },
            _ => new List<string>(),
        };

        private static string Describe(BlockSpec block) => block switch
        {
            EmbeddingSpec => "an Embedding",
            LayerNormSpec => "a LayerNorm",
            RmsNormSpec => "an RmsNorm",
            DropoutSpec => "a Dropout",
            LayerRefSpec or StackSpec => "a sublayer (put [LoRA] on its class)",
            _ => "this block",
        };

        /// <summary>True when a layer reachable from <paramref name="type"/> through [Sublayer] / [Stack] carries [LoRA], on its class or on a property.</summary>
        internal static bool AdaptersInside(INamedTypeSymbol type)
        {
            var seen = new HashSet<INamedTypeSymbol>(SymbolEqualityComparer.Default) { type.OriginalDefinition };
            var pending = new Stack<INamedTypeSymbol>(LayerGraph.Children(type));
            while (pending.Count > 0)
            {
                var layer = pending.Pop();
                if (!seen.Add(layer))
                    continue;
                if (AttributeReader.Find(layer, KnownNames.LoRAAttribute) is not null
                    || layer.GetMembers().OfType<IPropertySymbol>().Any(p => AttributeReader.Find(p, KnownNames.LoRAAttribute) is not null))
                    return true;
                foreach (var child in LayerGraph.Children(layer))
                    pending.Push(child);
            }
            return false;
        }
    }
}
