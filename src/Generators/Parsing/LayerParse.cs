using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using ModelGen.Diagnostics;
using ModelGen.Specs;

namespace ModelGen.Parsing
{
    /// <summary>
    /// What the parser found in one class: its spec (null when the class cannot be generated), the shell written instead of a
    /// spec that failed, the diagnostics, and the layer types it uses (symbols, for building a <see cref="ModelSpec"/>; never
    /// stored in a generator pipeline).
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

        /// <summary>The shell to generate when <see cref="Spec"/> is null and the class can carry one; null otherwise.</summary>
        public ShellSpec? Shell { get; internal set; }

        /// <summary>True when the class declares partial properties: if it is not partial, the compiler then reports a declaration error.</summary>
        public bool HasPartialMembers { get; internal set; }

        /// <summary>The generated file's hint name (unique by construction, see <see cref="Generators.Emit.HintNames"/>).</summary>
        public string HintName { get; internal set; } = "";

        /// <summary>Backing field of each block, in block order: names no member of the user's class has.</summary>
        public EquatableArray<string> FieldNames { get; internal set; }

        /// <summary>A model without its own [LoRA] whose layers carry one: its constructor freezes everything but the adapters.</summary>
        public bool AdaptersBelow { get; internal set; }

        /// <summary>Accessibility of the generated members that take the config: no more visible than the config type.</summary>
        public string MemberAccessibility { get; internal set; } = "public";
    }
}
