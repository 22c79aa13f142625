using ModelGen.Diagnostics;
using ModelGen.Parsing;
using ModelGen.Specs;

namespace ModelGen.Generators
{
    /// <summary>
    /// What the generator writes for one class: a module from <paramref name="Spec"/>, or else the <paramref name="Shell"/>.
    /// Equality contract: value equality over every member; holds no Roslyn object.
    /// </summary>
    /// <param name="HintName">The generated file's name, unique by construction.</param>
    /// <param name="Spec">The class's spec, null when it cannot be generated.</param>
    /// <param name="FieldNames">Backing fields in block order.</param>
    /// <param name="MemberAccessibility">Accessibility of the members that take the config.</param>
    /// <param name="Shell">The throwing shell, when <paramref name="Spec"/> is null.</param>
    /// <param name="AdaptersBelow">A model whose layers carry [LoRA] (and it does not): its constructor freezes all but the adapters.</param>
    public sealed record GenerationUnit(string HintName, LayerSpec? Spec, EquatableArray<string> FieldNames, string MemberAccessibility, ShellSpec? Shell, bool AdaptersBelow = false)
    {
        /// <summary>A [Model] with a causal [Attention] inside: it also gets the KV-cache and Generate members (InferenceEmitter).</summary>
        public bool Decoder { get; init; }
    }

    /// <summary>A parsed class: what to write and what to report, kept apart downstream.</summary>
    /// <param name="Unit">What to write; null when nothing can be written.</param>
    /// <param name="Diagnostics">What to report.</param>
    public sealed record ParsedClass(GenerationUnit? Unit, EquatableArray<DiagnosticInfo> Diagnostics);

    /// <summary>
    /// A class's diagnostics as they travel down the pipeline. A class, not the <see cref="EquatableArray{T}"/> struct itself: the
    /// compiler's pipeline tables are generic over what flows through them, and over a struct each of their methods would be
    /// compiled just in time in every compiler process, while over a class they share code the compiler has precompiled.
    /// Equality contract: value equality over <paramref name="Items"/>.
    /// </summary>
    /// <param name="Items">What to report.</param>
    public sealed record ClassDiagnostics(EquatableArray<DiagnosticInfo> Items);
}
