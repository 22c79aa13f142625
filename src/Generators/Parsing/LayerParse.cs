using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using ModelGen.Diagnostics;
using ModelGen.Specs;

namespace ModelGen.Parsing
{
    /// <summary>
    /// What the parser found in one class: its spec (null when the class cannot be generated), the diagnostics, and the
    /// layer types it uses (symbols, for building a <see cref="ModelSpec"/>; never stored in a generator pipeline).
    /// </summary>
    public sealed class LayerParse
    {
        internal LayerParse(LayerSpec? spec, IReadOnlyList<DiagnosticInfo> diagnostics, IReadOnlyList<INamedTypeSymbol> usedLayers)
        {
            Spec = spec;
            Diagnostics = diagnostics;
            UsedLayers = usedLayers;
        }

        /// <summary>The spec, or null when an error prevents generation.</summary>
        public LayerSpec? Spec { get; }

        /// <summary>Problems found while parsing, errors and warnings.</summary>
        public IReadOnlyList<DiagnosticInfo> Diagnostics { get; }

        /// <summary>Layer classes used through [Sublayer] or [Stack].</summary>
        public IReadOnlyList<INamedTypeSymbol> UsedLayers { get; }
    }
}
