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
            if (attribute is null)
                return null;
            var at = LocationInfo.From(AttributeReader.LocationOf(attribute)) ?? location;
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
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.BadLora, at, type.Name, problem));
                return null;
            }
            return new LoraSpec(rank, alpha, dropout, targets.ToEquatableArray());
        }

        /// <summary>True when a layer reachable from <paramref name="type"/> through [Sublayer] / [Stack] carries [LoRA].</summary>
        internal static bool AdaptersInside(INamedTypeSymbol type)
        {
            var seen = new HashSet<INamedTypeSymbol>(SymbolEqualityComparer.Default) { type.OriginalDefinition };
            var pending = new Stack<INamedTypeSymbol>(LayerGraph.Children(type));
            while (pending.Count > 0)
            {
                var layer = pending.Pop();
                if (!seen.Add(layer))
                    continue;
                if (AttributeReader.Find(layer, KnownNames.LoRAAttribute) is not null)
                    return true;
                foreach (var child in LayerGraph.Children(layer))
                    pending.Push(child);
            }
            return false;
        }
    }
}
