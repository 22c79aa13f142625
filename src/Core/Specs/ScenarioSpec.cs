using System;

namespace ModelGen.Specs
{
    /// <summary>
    /// One declared memory budget: the device memory available and the workload to fit in it.
    /// Equality contract: value equality over every member.
    /// </summary>
    /// <param name="Gigabytes">Budget per device in GB (2^30 bytes). 0 when <see cref="Gpu"/> gives it.</param>
    /// <param name="Workload">Training or inference.</param>
    /// <param name="SequenceLength">Tokens per sequence.</param>
    /// <param name="Batch">Sequences per step (per data-parallel rank).</param>
    /// <param name="Optimizer">The optimizer (training only).</param>
    public sealed record ScenarioSpec(double Gigabytes, Workload Workload, long SequenceLength, long Batch, Optimizer Optimizer) : IEquatable<ScenarioSpec>
    {
        /// <summary>A GPU from the built-in catalog whose memory is the budget, e.g. <c>RTX 4090</c>.</summary>
        public string? Gpu { get; init; }

        /// <summary>Tensor-parallel ranks the sharded blocks are split over.</summary>
        public int TensorParallel { get; init; } = 1;

        /// <summary>Data-parallel ranks.</summary>
        public int DataParallel { get; init; } = 1;

        /// <summary>ZeRO stage 0–3 over the data-parallel ranks (1: optimizer state, 2: + gradients, 3: + weights).</summary>
        public int ZeroStage { get; init; }

        /// <summary>Optimizer state (and master weights) kept in host RAM instead of device memory.</summary>
        public bool OffloadOptimizer { get; init; }

        /// <summary>Parameters kept in host RAM and streamed to the device layer by layer.</summary>
        public bool OffloadParameters { get; init; }

        /// <summary>
        /// Sequence parallelism (Korthikanti et al. 2022, §4.2.2): the activations outside the tensor-parallel regions of a sharded
        /// layer (norm inputs, dropout masks, the projections' shared inputs) are split along the sequence over the tensor-parallel ranks.
        /// </summary>
        public bool SequenceParallel { get; init; }

        /// <summary>
        /// The training loss reads all <c>V</c> logits of a vocab-parallel head, gathered on every tensor-parallel rank (a loss given
        /// to the generated <c>CreateTraining</c>, opted in by <c>[ParallelPlan(GatheredLogits = true)]</c>): each rank holds
        /// <c>b·s·V</c> logits and their loss's tensors instead of the vocab-parallel cross-entropy's <c>b·s·V/t</c>.
        /// </summary>
        public bool GatheredLogits { get; init; }
    }

    /// <summary>A model and every user layer reachable from it: what the memory model needs.</summary>
    /// <param name="Root">The <c>[Model]</c> class.</param>
    /// <param name="Layers">Every user layer reachable from the root, each once.</param>
    public sealed record ModelSpec(LayerSpec Root, EquatableArray<LayerSpec> Layers) : IEquatable<ModelSpec>;
}
