using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace ModelGen.Adapters
{
    /// <summary>
    /// Settings of low-rank adapters (Hu et al. 2021, "LoRA"): rank <c>r</c>, <c>alpha</c> (the update is scaled by <c>alpha / r</c>,
    /// §4.1), dropout on the adapter's input, and which Linear layers get one. Field meanings match PEFT's <c>LoraConfig</c>
    /// (<c>r</c>, <c>lora_alpha</c>, <c>lora_dropout</c>, <c>target_modules</c>), so a saved <c>adapter_config.json</c> round-trips.
    /// </summary>
    public sealed record LoraOptions
    {
        /// <summary>Rank <c>r</c> of the update <c>B·A</c> (A is r × in, B is out × r). PEFT's default is 8.</summary>
        public int Rank { get; init; } = 8;

        /// <summary><c>lora_alpha</c>; the update is multiplied by <see cref="Scaling"/> = alpha / r. PEFT's default is 8.</summary>
        public double Alpha { get; init; } = 8;

        /// <summary>Drop probability applied to the adapter's input (not the base layer's) in training mode, in [0, 1).</summary>
        public double Dropout { get; init; }

        /// <summary>
        /// Which layers get adapters, as PEFT's list form of <c>target_modules</c>: a Linear or QuantizedLinear whose module path
        /// equals an entry or ends with <c>"." + entry</c> (e.g. <c>"q_proj"</c> matches <c>blocks.0.attn.q_proj</c>).
        /// Empty means "use <see cref="TargetPattern"/>".
        /// </summary>
        public IReadOnlyList<string> TargetModules { get; init; } = Array.Empty<string>();

        /// <summary>
        /// PEFT's string form of <c>target_modules</c>: a regular expression the whole module path must match; null when unused.
        /// Modules it matches that are not Linear or QuantizedLinear are skipped, so <c>".*"</c> adapts every Linear in scope.
        /// </summary>
        public string? TargetPattern { get; init; }

        /// <summary>Dtype of A and B; null = the base layer's compute dtype (QLoRA keeps adapters in the 16-bit compute dtype).</summary>
        public ScalarType? AdapterDtype { get; init; }

        /// <summary>alpha / r: the factor of the adapter's output (Hu et al. 2021, §4.1).</summary>
        public double Scaling => Alpha / Rank;

        /// <summary>Whether the module path <paramref name="path"/> is a target.</summary>
        public bool IsTarget(string path)
        {
            ArgumentNullException.ThrowIfNull(path);
            if (TargetPattern is not null)
                return Regex.IsMatch(path, "^(?:" + TargetPattern + ")$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            return TargetModules.Any(t => path == t || path.EndsWith("." + t, StringComparison.Ordinal));
        }

        /// <summary>Checks every value; the message names the bad one.</summary>
        /// <exception cref="ArgumentException">A rank below 1, a non-finite or non-positive alpha, a dropout outside [0, 1),
        /// both or neither target forms, or a non-floating adapter dtype.</exception>
        public void Validate()
        {
            ValidateAdapter();
            if (TargetModules is null || TargetModules.Any(string.IsNullOrWhiteSpace))
                throw new ArgumentException("LoRA target modules must be non-empty names such as \"q_proj\".", nameof(TargetModules));
            if ((TargetModules.Count == 0) == (TargetPattern is null))
                throw new ArgumentException("Give LoRA targets either as TargetModules (names) or as TargetPattern (a regular expression), exactly one of them.", nameof(TargetModules));
        }

        /// <summary>Checks what one adapter needs (rank, alpha, dropout, dtype), not the targets: enough for a single layer.</summary>
        internal void ValidateAdapter()
        {
            if (Rank < 1)
                throw new ArgumentException($"The LoRA rank must be at least 1, got {Rank}.", nameof(Rank));
            if (!(Alpha > 0) || !double.IsFinite(Alpha))
                throw new ArgumentException($"LoRA alpha must be a positive finite number, got {Alpha}.", nameof(Alpha));
            if (!(Dropout >= 0 && Dropout < 1))
                throw new ArgumentException($"LoRA dropout must lie in [0, 1), got {Dropout}.", nameof(Dropout));
            if (AdapterDtype is { } d && !is_floating_point(d))
                throw new ArgumentException($"The LoRA adapter dtype must be floating-point, got {d}.", nameof(AdapterDtype));
        }
    }
}
