using System.Collections.Generic;
using Microsoft.CodeAnalysis;

namespace ModelGen.Diagnostics
{
    /// <summary>
    /// Every ModelGen diagnostic, in one place. Ids: MG00xx memory, MG01xx usage, MG02xx sharding, MG03xx quantization, MG04xx shape.
    /// Each id has a section in docs/diagnostics.md.
    /// </summary>
    public static class Descriptors
    {
        /// <summary>Category of memory-budget diagnostics.</summary>
        public const string Memory = "ModelGen.Memory";

        /// <summary>Category of annotation-usage diagnostics.</summary>
        public const string Usage = "ModelGen.Usage";

        /// <summary>Category of sharding diagnostics.</summary>
        public const string Sharding = "ModelGen.Sharding";

        /// <summary>Category of quantization diagnostics.</summary>
        public const string Quantization = "ModelGen.Quantization";

        /// <summary>Category of shape diagnostics.</summary>
        public const string Shape = "ModelGen.Shape";

        private static readonly Dictionary<string, DiagnosticDescriptor> All = new();

        /// <summary>MG0001: a declared scenario needs more device memory than its budget.</summary>
        public static readonly DiagnosticDescriptor BudgetExceeded = Add(
            "MG0001", "Model exceeds its memory budget",
            "'{0}' needs {1} GB at seq {2} ({3}, batch {4}, {5}) and exceeds the {6} GB budget: {7}",
            Memory, DiagnosticSeverity.Warning,
            "The memory model's peak for this scenario is above the budget. The message lists the peak phase's breakdown; the diagnostic's properties carry every term.");

        /// <summary>MG0101: the class carrying [Model] or [Layer] is not partial.</summary>
        public static readonly DiagnosticDescriptor NotPartial = Add(
            "MG0101", "Model and layer classes must be partial",
            "'{0}' must be declared partial so ModelGen can generate its module code",
            Usage, DiagnosticSeverity.Error,
            "The generator adds the constructor, registration and forward in another part of the class.");

        /// <summary>MG0102: a size names a member the config type does not have.</summary>
        public static readonly DiagnosticDescriptor UnknownConfigMember = Add(
            "MG0102", "Unknown config member",
            "'{0}' is not a property of config type '{1}'",
            Usage, DiagnosticSeverity.Error,
            "Sizes are names of integer properties of the config type given to [Model]/[Layer]; use nameof(Config.Member).");

        /// <summary>MG0103: a config member's default is not an integer known at compile time.</summary>
        public static readonly DiagnosticDescriptor ConfigValueUnknown = Add(
            "MG0103", "Config size not known at compile time",
            "Config member '{0}.{1}' needs an integer default the compiler can evaluate (a literal or arithmetic over other members)",
            Usage, DiagnosticSeverity.Error,
            "The analyzers check budgets against the config's defaults, so each size needs a constant default.");

        /// <summary>MG0104: a block property is not partial, has a setter, or is static.</summary>
        public static readonly DiagnosticDescriptor BlockNotPartialProperty = Add(
            "MG0104", "Block must be a partial get-only instance property",
            "Block '{0}' must be declared as a partial get-only instance property, e.g. 'partial Linear {0} {{ get; }}'",
            Usage, DiagnosticSeverity.Error,
            "The generator implements the property over a registered module field.");

        /// <summary>MG0105: a block property's type cannot hold the module the attribute asks for.</summary>
        public static readonly DiagnosticDescriptor BlockTypeMismatch = Add(
            "MG0105", "Block property type does not match its attribute",
            "Block '{0}' is declared as '{1}' but [{2}] creates '{3}'; declare it as '{3}' or as 'Module<Tensor, Tensor>'",
            Usage, DiagnosticSeverity.Error,
            "The generated field has the property's type, so the module must be assignable to it.");

        /// <summary>MG0106: a property carries more than one block attribute.</summary>
        public static readonly DiagnosticDescriptor SeveralBlockAttributes = Add(
            "MG0106", "More than one block attribute",
            "Block '{0}' has several block attributes ({1}); keep one",
            Usage, DiagnosticSeverity.Error,
            "Each property is exactly one block.");

        /// <summary>MG0107: the forward method is missing or has the wrong shape.</summary>
        public static readonly DiagnosticDescriptor ForwardMissing = Add(
            "MG0107", "Forward method missing",
            "'{0}' needs a method 'Tensor Forward(Tensor x)' that computes the layer's output from its blocks",
            Usage, DiagnosticSeverity.Error,
            "You write the forward math; the generator writes the module's forward around it (casts, checkpointing).");

        /// <summary>MG0108: the class is nested, generic, static, or already has a base class.</summary>
        public static readonly DiagnosticDescriptor UnsupportedClassShape = Add(
            "MG0108", "Unsupported class shape",
            "'{0}' cannot be generated: {1}",
            Usage, DiagnosticSeverity.Error,
            "Model and layer classes must be top-level, non-generic, non-static classes without a base class (the generator adds Module<Tensor, Tensor>).");

        /// <summary>MG0109: a stack or sublayer property's type is not a [Layer] class.</summary>
        public static readonly DiagnosticDescriptor NotALayer = Add(
            "MG0109", "Sublayer type is not a ModelGen layer",
            "Block '{0}' uses '{1}', which has no [Layer] attribute",
            Usage, DiagnosticSeverity.Error,
            "[Stack] needs ModuleList<TLayer> and [Sublayer] a property of type TLayer, where TLayer is a [Layer] partial class.");

        /// <summary>MG0110: [TiedTo] names no block of the layer, or a block whose weight shape differs.</summary>
        public static readonly DiagnosticDescriptor BadTie = Add(
            "MG0110", "Tied weight does not match",
            "Block '{0}' is tied to '{1}': {2}",
            Usage, DiagnosticSeverity.Error,
            "A tied block shares the weight of another block of the same layer; the two weights must have the same shape.");

        /// <summary>MG0111: a sublayer's config type differs from its parent's.</summary>
        public static readonly DiagnosticDescriptor ConfigMismatch = Add(
            "MG0111", "Sublayer config type differs",
            "Block '{0}' uses layer '{1}' whose config type is '{2}', but '{3}' is built from '{4}'",
            Usage, DiagnosticSeverity.Error,
            "A parent passes its config instance to the layers it builds, so both must use the same config type.");

        /// <summary>MG0112: an attribute argument is out of range (negative size, bad probability, bad group size…).</summary>
        public static readonly DiagnosticDescriptor BadArgument = Add(
            "MG0112", "Invalid attribute argument",
            "Block '{0}': {1}",
            Usage, DiagnosticSeverity.Error,
            "An attribute argument is outside the values the block accepts.");

        /// <summary>The descriptor of <paramref name="id"/>.</summary>
        public static DiagnosticDescriptor ById(string id) => All[id];

        /// <summary>Every descriptor, for analyzers' SupportedDiagnostics.</summary>
        public static IEnumerable<DiagnosticDescriptor> Every => All.Values;

        private static DiagnosticDescriptor Add(string id, string title, string message, string category, DiagnosticSeverity severity, string description, bool enabledByDefault = true)
        {
            var descriptor = new DiagnosticDescriptor(id, title, message, category, severity, enabledByDefault, description, HelpLink(id));
            All.Add(id, descriptor);
            return descriptor;
        }

        private static string HelpLink(string id) => "docs/diagnostics.md#" + id.ToLowerInvariant();
    }
}
