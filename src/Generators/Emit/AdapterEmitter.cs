using System;
using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Generators.Emit
{
    /// <summary>
    /// The generated code of <c>[LoRA]</c> (docs/lora.md): one line per block whose property carries <c>[LoRA]</c> (the nearest
    /// scope, so written first), one <c>LoRA.ApplyScope</c> line per class scope after the children are registered (sublayers are built
    /// first, so a nearer scope has already taken its projections), and <c>_to</c> overrides that move the adapters with the model
    /// (TorchSharp's Linear and ModelGen's QuantizedLinear move only their own tensors).
    /// </summary>
    internal static class AdapterEmitter
    {
        private const string LoRA = "global::ModelGen.Adapters.LoRA";

        /// <summary>True when the class or one of its blocks carries <c>[LoRA]</c>.</summary>
        public static bool HasAdapters(LayerSpec spec) => spec.Lora is not null || spec.Blocks.Any(b => b.Lora is not null);

        /// <summary>The constructor's last lines: block scopes, this class's scope, or the freezing of the rest when the adapters are below.</summary>
        public static void WriteScope(CodeWriter w, LayerSpec spec, Func<BlockSpec, string> field, bool adaptersBelow)
        {
            foreach (var block in spec.Blocks.Where(b => b.Lora is not null))
            {
                // A Linear is itself the projection; an Attention or FeedForward is a scope over its own projections.
                var call = block is LinearSpec ? "Attach" : "ApplyScope";
                w.Line($"{LoRA}.{call}({field(block)}, {Options(block.Lora!)}); // [LoRA] on {block.Name}");
            }
            if (spec.Lora is not null)
                w.Line($"{LoRA}.ApplyScope(this, {Options(spec.Lora)}); // [LoRA]: adapters; the rest of this scope is frozen");
            else if (adaptersBelow || spec.Blocks.Any(b => b.Lora is not null))
                w.Line($"{LoRA}.FreezeAllButAdapters(this); // [LoRA] on its {(adaptersBelow ? "layers" : "blocks")}: only the adapters train");
        }

        private static string Options(LoraSpec lora)
        {
            var targets = lora.Targets.Count == 0
                ? "TargetPattern = \".*\""
                : "TargetModules = new[] { " + string.Join(", ", lora.Targets.Select(Literals.String)) + " }";
            return $"new global::ModelGen.Adapters.LoraOptions {{ Rank = {lora.Rank}, Alpha = {Literals.Number(lora.Alpha)}, Dropout = {Literals.Number(lora.Dropout)}, {targets} }}";
        }

        /// <summary>Overrides of the three <c>_to</c> entries: move as usual, then align every adapter with its base layer.</summary>
        public static void WriteMoves(CodeWriter w)
        {
            const string Module = "global::TorchSharp.torch.nn.Module";
            const string Device = "global::TorchSharp.torch.Device";
            const string ScalarType = "global::TorchSharp.torch.ScalarType";
            const string DeviceType = "global::TorchSharp.DeviceType";
            w.Line("/// <inheritdoc/>");
            w.Line($"protected override {Module} _to({Device} device, {ScalarType} dtype, bool non_blocking) {{ base._to(device, dtype, non_blocking); {LoRA}.MoveAdapters(this); return this; }}");
            w.Line();
            w.Line("/// <inheritdoc/>");
            w.Line($"protected override {Module} _to({DeviceType} deviceType, int deviceIndex, bool non_blocking) {{ base._to(deviceType, deviceIndex, non_blocking); {LoRA}.MoveAdapters(this); return this; }}");
            w.Line();
            w.Line("/// <inheritdoc/>");
            w.Line($"protected override {Module} _to({ScalarType} dtype, bool non_blocking) {{ base._to(dtype, non_blocking); {LoRA}.MoveAdapters(this); return this; }}");
            w.Line();
        }
    }
}
