namespace ModelGen.Analyzers.Budgets
{
    /// <summary>
    /// Keys of the properties a budget diagnostic carries. Byte counts are decimal integers (invariant culture), per device.
    /// Every budget diagnostic carries the breakdown; MG0001 also carries the cheapest remedy that the code fix can apply.
    /// </summary>
    public static class BudgetProperties
    {
        /// <summary>Peak bytes of the scenario (the sum of the <see cref="TermPrefix"/> entries).</summary>
        public const string PeakBytes = "PeakBytes";

        /// <summary>The budget in bytes (GB × 2^30).</summary>
        public const string BudgetBytes = "BudgetBytes";

        /// <summary>The phase where the peak happens: forward, backward, optimizer step, prefill or decode.</summary>
        public const string PeakPhase = "PeakPhase";

        /// <summary>All parameters of the model (tied weights once).</summary>
        public const string ParameterCount = "ParameterCount";

        /// <summary>Parameters that receive gradients.</summary>
        public const string TrainableParameterCount = "TrainableParameterCount";

        /// <summary>Host RAM the scenario needs beside device memory (offloaded state), in bytes.</summary>
        public const string HostBytes = "HostBytes";

        /// <summary>Prefix of one entry per breakdown term, e.g. <c>Term.weights</c>, <c>Term.kv cache</c>; every term, zeros included.</summary>
        public const string TermPrefix = "Term.";

        /// <summary>Prefix of one entry per phase with that phase's peak bytes, e.g. <c>Phase.backward</c>.</summary>
        public const string PhasePrefix = "Phase.";

        /// <summary>The catalog GPU of the budget, when it names one.</summary>
        public const string Gpu = "Gpu";

        /// <summary>The cheapest remedy the code fix can apply: a <c>ModelGen.Memory.RemedyKind</c> name.</summary>
        public const string RemedyKind = "Remedy.Kind";

        /// <summary>The metadata name of the layer class the remedy edits (e.g. <c>Demo.DecoderBlock</c>), when it edits a class.</summary>
        public const string RemedyLayer = "Remedy.Layer";

        /// <summary>The block property the remedy edits (a stack), when it edits one.</summary>
        public const string RemedyBlock = "Remedy.Block";

        /// <summary>The new ZeRO stage, batch or tensor-parallel degree.</summary>
        public const string RemedyDegree = "Remedy.Degree";

        /// <summary>The remedy in words, for the code fix's title.</summary>
        public const string RemedyDescription = "Remedy.Description";
    }
}
