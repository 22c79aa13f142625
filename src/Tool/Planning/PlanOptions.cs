namespace ModelGen.Tool.Planning
{
    /// <summary>
    /// What the command line changes. A null member leaves the model's own value. The card and size act as the project-level
    /// budget (<c>ModelGenBudgetGpu</c>, <c>ModelGenBudgetGigabytes</c>): they settle every budget the way the analyzers settle it.
    /// </summary>
    internal sealed record PlanOptions
    {
        /// <summary>A catalog GPU for every scenario (<c>--gpu "RTX 4090"</c>).</summary>
        public string? Gpu { get; init; }

        /// <summary>A budget in GB (2^30 bytes), for scenarios without one, or the usable memory of <see cref="Gpu"/> (<c>--gb</c>).</summary>
        public double? Gigabytes { get; init; }

        /// <summary>Tokens per sequence (<c>--seq</c>).</summary>
        public long? SequenceLength { get; init; }

        /// <summary>Sequences per step (<c>--batch</c>).</summary>
        public long? Batch { get; init; }

        /// <summary>Training or inference (<c>--workload</c>).</summary>
        public Workload? Workload { get; init; }

        /// <summary>The optimizer (<c>--optimizer</c>).</summary>
        public Optimizer? Optimizer { get; init; }

        /// <summary>Tensor-parallel degree (<c>--tp</c>).</summary>
        public int? TensorParallel { get; init; }

        /// <summary>Data-parallel degree (<c>--dp</c>).</summary>
        public int? DataParallel { get; init; }

        /// <summary>ZeRO stage (<c>--zero</c>).</summary>
        public int? ZeroStage { get; init; }

        /// <summary>Optimizer state in host RAM (<c>--offload-optimizer</c>).</summary>
        public bool? OffloadOptimizer { get; init; }

        /// <summary>Parameters in host RAM (<c>--offload-parameters</c>).</summary>
        public bool? OffloadParameters { get; init; }

        /// <summary>Sequence parallelism (<c>--sequence-parallel</c>).</summary>
        public bool? SequenceParallel { get; init; }

        /// <summary>Storage precision of the model and every layer that sets its own (<c>--precision</c>).</summary>
        public DType? Precision { get; init; }

        /// <summary>Weight-only quantization of every Linear block that is not tied (<c>--quantize int8|int4|nf4</c>).</summary>
        public QuantKind? Quantize { get; init; }

        /// <summary>
        /// LoRA adapters of this rank (alpha 2·rank, no dropout) on every attention and MLP projection, as the LoRA remedy
        /// proposes them (<c>--lora 16</c>); with <see cref="Quantize"/> NF4 this is QLoRA.
        /// </summary>
        public int? LoraRank { get; init; }

        /// <summary>Checkpointing of every layer class other than the model (<c>--checkpoint none|full|selective</c>).</summary>
        public CheckpointMode? Checkpoint { get; init; }

        /// <summary>True when any scenario setting is given, so a model without budgets is planned for the command line's scenario.</summary>
        public bool ChangesScenario => SequenceLength is not null || Batch is not null || Workload is not null || Optimizer is not null
            || TensorParallel is not null || DataParallel is not null || ZeroStage is not null || OffloadOptimizer is not null
            || OffloadParameters is not null || SequenceParallel is not null;
    }
}
