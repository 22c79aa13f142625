using System;

namespace ModelGen
{
    /// <summary>
    /// How the model is trained across processes: the one declaration the analyzers estimate and the training set-up runs.
    /// Every <c>[VramBudget]</c> on the model takes its parallel settings from this plan; a budget that sets a different value
    /// is reported as MG0207 (the budget would describe a plan the program does not run). Without a plan, budgets keep their
    /// own parallel values as what-if scenarios.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
    public sealed class ParallelPlanAttribute : Attribute
    {
        /// <summary>Tensor-parallel ranks the <c>[Shard]</c> blocks are split over (default 1).</summary>
        public int TensorParallel { get; set; } = 1;

        /// <summary>Data-parallel ranks, each with a whole (or tensor-parallel) replica of the model (default 1).</summary>
        public int DataParallel { get; set; } = 1;

        /// <summary>ZeRO stage 0–3 across the data-parallel ranks (default 0: plain data parallelism).</summary>
        public int ZeroStage { get; set; }

        /// <summary>Keep optimizer state (and master weights) in host RAM.</summary>
        public bool OffloadOptimizer { get; set; }

        /// <summary>Keep parameters in host RAM and stream them in layer by layer.</summary>
        public bool OffloadParameters { get; set; }

        /// <summary>Split the activations outside the tensor-parallel regions along the sequence too (Korthikanti et al. 2022, §4.2.2).</summary>
        public bool SequenceParallel { get; set; }

        /// <summary>
        /// The training loss needs the head's whole vocabulary: a model whose head is vocab-parallel (a column-parallel head, or one
        /// tied to a vocab-parallel embedding) then gathers all <c>V</c> logits on every tensor-parallel rank, and the generated
        /// <c>CreateTraining</c> requires the loss that reads them. The estimate counts the gathered logits (<c>b·s·V</c> per rank, with
        /// their fp32 copy, log-probabilities and gradient). Default false: <c>CreateTraining</c> trains on the vocab-parallel
        /// cross-entropy of each rank's <c>V/t</c> logits and refuses an explicit loss (MG0220 at compile time).
        /// </summary>
        public bool GatheredLogits { get; set; }

        /// <summary>Processes the plan needs: <see cref="TensorParallel"/> × <see cref="DataParallel"/>.</summary>
        public int WorldSize => TensorParallel * DataParallel;
    }
}
