using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// A single change to a model or scenario that lowers peak memory, in cost order (cheapest first): what a code fix edits.
    /// The cost is what the change gives up — compute, numerics, hardware — as documented in docs/memory-model.md.
    /// </summary>
    public enum RemedyKind
    {
        /// <summary>
        /// <c>[Checkpoint(CheckpointMode.Selective)]</c> on <see cref="Remedy.TargetLayer"/>: recompute only the attention core
        /// (a few percent more compute, Korthikanti et al. 2022, §5).
        /// </summary>
        SelectiveCheckpoint = 0,

        /// <summary><c>[Checkpoint]</c> on the stack <see cref="Remedy.TargetBlock"/> of <see cref="Remedy.TargetLayer"/>: every repeat recomputes its forward (about one more forward pass).</summary>
        CheckpointStack = 1,

        /// <summary><c>[Checkpoint]</c> on the class <see cref="Remedy.TargetLayer"/>: every use recomputes its forward.</summary>
        CheckpointLayer = 2,

        /// <summary>A higher ZeRO stage over the data-parallel ranks already there (<see cref="Remedy.Degree"/>): more communication.</summary>
        ZeroStage = 3,

        /// <summary><c>[Precision(DType.BFloat16)]</c> on the model: 16-bit storage and activations (fp32 master weights kept).</summary>
        BFloat16 = 4,

        /// <summary>AdamW with block-wise 8-bit states (<c>Optimizer = Optimizer.Adam8Bit</c>, the runtime's <c>AdamW8Bit</c>): close to fp32 AdamW (docs/lora.md).</summary>
        Adam8BitStates = 5,

        /// <summary>Optimizer state in host RAM: the step runs on the CPU and gradients cross PCIe every step.</summary>
        OffloadOptimizer = 6,

        /// <summary>Half the batch (<see cref="Remedy.Degree"/> = new batch): fewer samples per step, or gradient accumulation.</summary>
        HalveBatch = 7,

        /// <summary><c>[Quantize(QuantKind.Int8)]</c> on the Linear blocks of <see cref="Remedy.TargetLayer"/>: frozen weights, small accuracy loss.</summary>
        QuantizeInt8 = 8,

        /// <summary><c>[Quantize(QuantKind.NF4)]</c> on the Linear blocks of <see cref="Remedy.TargetLayer"/>: frozen weights, larger accuracy loss.</summary>
        QuantizeNF4 = 9,

        /// <summary>
        /// <c>[LoRA(16, targets…, Alpha = 32)]</c> on the model <see cref="Remedy.TargetLayer"/>: the base is frozen and rank-16 adapters train
        /// (fine-tuning instead of full training). <see cref="Remedy.TargetBlock"/> holds the target names, comma-separated.
        /// </summary>
        Lora = 10,

        /// <summary>
        /// QLoRA: <see cref="Lora"/> on the model plus <c>[Quantize(QuantKind.NF4)]</c> on the Linear blocks of <see cref="Remedy.TargetLayer"/>;
        /// <see cref="Remedy.TargetBlock"/> holds the target names, comma-separated.
        /// </summary>
        QLora = 11,

        /// <summary>Tensor parallelism over <see cref="Remedy.Degree"/> devices for the sharded blocks: more GPUs.</summary>
        TensorParallel = 12,
    }

    /// <summary>One computed remedy: the change, the peak it gives, and whether that fits the budget.</summary>
    /// <param name="Kind">What changes; also the cost rank.</param>
    /// <param name="TargetLayer">The layer class whose attributes change (null for scenario-wide changes).</param>
    /// <param name="TargetBlock">The block property that changes (a stack), or null.</param>
    /// <param name="Degree">The new ZeRO stage, batch, or tensor-parallel degree; 0 when not applicable.</param>
    /// <param name="Description">One line for a diagnostic, e.g. <c>checkpoint every DecoderBlock in Llama.Blocks</c>.</param>
    /// <param name="PeakBytes">The re-estimated peak with the change.</param>
    /// <param name="SavingBytes">Old peak minus new peak.</param>
    /// <param name="Fits">The new peak is within the budget.</param>
    /// <param name="Model">The changed model spec.</param>
    /// <param name="Scenario">The changed scenario.</param>
    public sealed record Remedy(
        RemedyKind Kind, string? TargetLayer, string? TargetBlock, int Degree, string Description,
        long PeakBytes, long SavingBytes, bool Fits, ModelSpec Model, ScenarioSpec Scenario);
}
