using ModelGen.Specs;

namespace ModelGen.Tool.HuggingFace
{
    /// <summary>Builds the layer specs of a config-defined model the way the parser builds them from attributes.</summary>
    internal static class SpecParts
    {
        /// <summary>The namespace the config's layers are placed in (only messages show it).</summary>
        public const string Namespace = "HuggingFace";

        /// <summary>A size read from the config: named by its key so breakdowns and messages can say where it came from.</summary>
        public static Dim Size(string key, long value) => new(key, value);

        /// <summary>A <c>[Model]</c> or <c>[Layer]</c> class of the given blocks.</summary>
        public static LayerSpec Layer(string name, bool isModel, DType? precision, params BlockSpec[] blocks) =>
            new(Namespace, name, $"global::{Namespace}.{name}", "public", $"global::{Namespace}.Config", isModel,
                blocks.ToEquatableArray(), new ForwardSpec("Forward", "x"))
            {
                Precision = precision,
            };

        /// <summary>The type name a stack refers to.</summary>
        public static string TypeName(string layer) => $"global::{Namespace}.{layer}";
    }
}
