using System;

namespace ModelGen
{
    /// <summary>
    /// Declares how a block's weight is split across tensor-parallel ranks (column, row or vocabulary) when a budget sets
    /// <see cref="VramBudgetAttribute.TensorParallel"/>. Today this drives the memory plan only: the memory model divides the
    /// block's weight, gradient, optimizer state and activations as Megatron-LM does, and the analyzers check divisibility.
    /// The generated module itself still holds the whole weight on one device (runtime tensor parallelism is not implemented yet).
    /// </summary>
    [AttributeUsage(AttributeTargets.Property, Inherited = false)]
    public sealed class ShardAttribute : Attribute
    {
        /// <summary>Creates the attribute.</summary>
        public ShardAttribute(ShardStyle style) => Style = style;

        /// <summary>Column, row or vocabulary split.</summary>
        public ShardStyle Style { get; }
    }

    /// <summary>Weight-only quantization of a <c>[Linear]</c> block (other blocks are reported as errors); quantized weights are frozen.</summary>
    [AttributeUsage(AttributeTargets.Property, Inherited = false)]
    public sealed class QuantizeAttribute : Attribute
    {
        /// <summary>Creates the attribute.</summary>
        public QuantizeAttribute(QuantKind kind) => Kind = kind;

        /// <summary>The format.</summary>
        public QuantKind Kind { get; }

        /// <summary>Elements per scale: int4 group (32/64/128, default 128), NF4 block (default 64). Ignored for int8 (per channel).</summary>
        public int GroupSize { get; set; }

        /// <summary>NF4 only: quantize the per-block absmax constants again (QLoRA double quantization).</summary>
        public bool DoubleQuant { get; set; }
    }

    /// <summary>
    /// A memory scenario the model must fit in: device memory in GB (2^30 bytes) per device, or a GPU from the catalog,
    /// and the workload. The analyzers report MG0001 when the model's peak exceeds it.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class VramBudgetAttribute : Attribute
    {
        /// <summary>A budget in GB (2^30 bytes) per device.</summary>
        public VramBudgetAttribute(double gigabytes) => Gigabytes = gigabytes;

        /// <summary>A budget taken from <see cref="Gpu"/> or from the MSBuild property <c>ModelGenBudgetGpu</c>.</summary>
        public VramBudgetAttribute()
        {
        }

        /// <summary>Device memory in GB; 0 when <see cref="Gpu"/> gives it.</summary>
        public double Gigabytes { get; }

        /// <summary>A GPU from the built-in catalog, e.g. <c>"RTX 4090"</c>, <c>"A100 80GB"</c>, <c>"H100"</c>.</summary>
        public string? Gpu { get; set; }

        /// <summary>Tokens per sequence (default 2048).</summary>
        public int SequenceLength { get; set; } = 2048;

        /// <summary>Sequences per step per data-parallel rank (default 1).</summary>
        public int Batch { get; set; } = 1;

        /// <summary>Training (default) or inference.</summary>
        public Workload Workload { get; set; } = Workload.Training;

        /// <summary>Optimizer for training (default AdamW).</summary>
        public Optimizer Optimizer { get; set; } = Optimizer.AdamW;

        /// <summary>Tensor-parallel ranks (default 1).</summary>
        public int TensorParallel { get; set; } = 1;

        /// <summary>Data-parallel ranks (default 1).</summary>
        public int DataParallel { get; set; } = 1;

        /// <summary>ZeRO stage 0–3 across data-parallel ranks (default 0).</summary>
        public int ZeroStage { get; set; }

        /// <summary>Keep optimizer state in host RAM.</summary>
        public bool OffloadOptimizer { get; set; }

        /// <summary>Keep parameters in host RAM and stream them in.</summary>
        public bool OffloadParameters { get; set; }

        /// <summary>
        /// Sequence parallelism beside tensor parallelism (Korthikanti et al. 2022, §4.2.2): the norm and dropout activations that
        /// tensor parallelism leaves replicated are split over the tensor-parallel ranks too.
        /// </summary>
        public bool SequenceParallel { get; set; }
    }
}
