using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Generators.Emit
{
    /// <summary>
    /// The generated code of <c>[LoRA]</c> (docs/lora.md): one <c>LoRA.ApplyScope</c> line per scope after the children are registered
    /// (sublayers are built first, so a nearer scope has already taken its projections), and <c>_to</c> overrides that move the
    /// adapters with the model (TorchSharp's Linear and ModelGen's QuantizedLinear move only their own tensors).
    /// </summary>
    internal static class AdapterEmitter
    {
        private const string LoRA = "global::ModelGen.Adapters.LoRA";

        /// <summary>The constructor's last lines: this scope's adapters, or for a model with scopes below, the freezing of the rest.</summary>
        public static void WriteScope(CodeWriter w, LoraSpec? lora, bool adaptersBelow)
        {
            if (lora is not null)
            {
                var targets = lora.Targets.Count == 0
                    ? "TargetPattern = \".*\""
                    : "TargetModules = new[] { " + string.Join(", ", lora.Targets.Select(Literals.String)) + " }";
                w.Line($"{LoRA}.ApplyScope(this, new global::ModelGen.Adapters.LoraOptions {{ Rank = {lora.Rank}, Alpha = {Literals.Number(lora.Alpha)}, Dropout = {Literals.Number(lora.Dropout)}, {targets} }}); // [LoRA]: adapters; the rest of this scope is frozen");
            }
            if (adaptersBelow)
                w.Line($"{LoRA}.FreezeAllButAdapters(this); // [LoRA] on its layers: only the adapters train");
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
