using System.Collections.Generic;

namespace ModelGen.Loading
{
    /// <summary>How <see cref="WeightLoader"/> matches a checkpoint to a model.</summary>
    public sealed record WeightLoadOptions
    {
        /// <summary>How checkpoint names and layouts become the model's; <see cref="WeightMapping.Identity"/> by default.</summary>
        public WeightMapping Mapping { get; init; } = WeightMapping.Identity;

        /// <summary>Load even when some model keys have no checkpoint tensor (they keep their values); listed in the report. Off by default.</summary>
        public bool AllowMissing { get; init; }

        /// <summary>Load even when the checkpoint has tensors the model lacks (they are ignored); listed in the report. Off by default.</summary>
        public bool AllowUnexpected { get; init; }

        /// <summary>
        /// Receives one report per checkpoint tensor loaded (tensors and bytes done, bytes per second, time left), through
        /// <see cref="LoadingProgressTracker"/>; none when null. The library writes to no console: the samples and the
        /// <c>modelgen</c> tool render it with Spectre.Console.
        /// </summary>
        public System.IProgress<LoadingProgress>? Progress { get; init; }

        /// <summary>What the progress reports call the checkpoint; the path when loading from one, else <c>weights</c>.</summary>
        public string? ProgressName { get; init; }
    }

    /// <summary>What a load did.</summary>
    /// <param name="TensorsCopied">Model keys filled by a plain copy (with a dtype conversion where the dtypes differ).</param>
    /// <param name="LayersQuantized">Quantized layers filled by quantizing a floating-point checkpoint weight.</param>
    /// <param name="Missing">Model keys left as they were (only with <see cref="WeightLoadOptions.AllowMissing"/>).</param>
    /// <param name="Ignored">Checkpoint tensors left unused (only with <see cref="WeightLoadOptions.AllowUnexpected"/>).</param>
    /// <param name="LargestReadBytes">Bytes of the largest checkpoint tensor read into a temporary (one that needed a dtype
    /// conversion, a transpose, a split or quantization; the others stream straight into their parameter): the loader holds at
    /// most one such temporary at a time.</param>
    public sealed record WeightLoadReport(int TensorsCopied, int LayersQuantized, IReadOnlyList<string> Missing, IReadOnlyList<string> Ignored, long LargestReadBytes);
}
