using System.Collections.Generic;

namespace ModelGen.Memory
{
    /// <summary>The memory a model needs for one scenario on one device: the peak, where it happens, and what it is made of.</summary>
    public sealed class MemoryEstimate
    {
        internal MemoryEstimate(
            long peakBytes, string peakPhase, IReadOnlyList<MemoryTerm> terms, IReadOnlyList<PhasePeak> phases, long hostBytes,
            long parameterCount, long trainableParameterCount, IReadOnlyList<LayerMemory> layers)
        {
            PeakBytes = peakBytes;
            PeakPhase = peakPhase;
            Terms = terms;
            Phases = phases;
            HostBytes = hostBytes;
            ParameterCount = parameterCount;
            TrainableParameterCount = trainableParameterCount;
            Layers = layers;
        }

        /// <summary>Peak device memory per device (per rank), in bytes: the largest phase peak.</summary>
        public long PeakBytes { get; }

        /// <summary>The phase where the peak happens: one of <see cref="MemoryPhases"/>' names.</summary>
        public string PeakPhase { get; }

        /// <summary>
        /// The breakdown at the peak phase, always in this order: weights, gradients, optimizer, activations, transients,
        /// kv cache, overhead (<see cref="MemoryTerms"/>); terms may be zero; they sum exactly to <see cref="PeakBytes"/>.
        /// </summary>
        public IReadOnlyList<MemoryTerm> Terms { get; }

        /// <summary>Every phase of the workload with its own peak and breakdown, in execution order.</summary>
        public IReadOnlyList<PhasePeak> Phases { get; }

        /// <summary>Host RAM needed beside device memory per rank: offloaded optimizer state and parameters.</summary>
        public long HostBytes { get; }

        /// <summary>All parameters of the model (unsharded, tied weights once, quantized weights included).</summary>
        public long ParameterCount { get; }

        /// <summary>Parameters that receive gradients (not frozen, not quantized).</summary>
        public long TrainableParameterCount { get; }

        /// <summary>Per use of a user layer (the root model first): weights, activations and instance count.</summary>
        public IReadOnlyList<LayerMemory> Layers { get; }

        /// <summary>The term named <paramref name="name"/> of the peak breakdown (0 when absent).</summary>
        public long Term(string name)
        {
            foreach (var term in Terms)
            {
                if (term.Name == name)
                    return term.Bytes;
            }
            return 0;
        }
    }

    /// <summary>One named part of a memory breakdown.</summary>
    /// <param name="Name">One of <see cref="MemoryTerms"/>' names.</param>
    /// <param name="Bytes">Its size in bytes.</param>
    /// <remarks>A class, not a struct: the analyzers build lists of it inside the compiler, where a generic collection over a struct is compiled
    /// just in time in every compiler process (docs/benchmarks-analyzers.md); a record class keeps the value equality.</remarks>
    public sealed record MemoryTerm(string Name, long Bytes);

    /// <summary>The peak of one phase and its breakdown (same term order as <see cref="MemoryEstimate.Terms"/>).</summary>
    /// <param name="Phase">One of <see cref="MemoryPhases"/>' names.</param>
    /// <param name="PeakBytes">The phase's peak, the sum of <paramref name="Terms"/>.</param>
    /// <param name="Terms">The breakdown at that peak.</param>
    public sealed record PhasePeak(string Phase, long PeakBytes, IReadOnlyList<MemoryTerm> Terms);

    /// <summary>One tensor autograd saves for backward, named by the block and op that save it.</summary>
    /// <param name="Block">The block property name (e.g. <c>Attn</c>).</param>
    /// <param name="Tensor">What it is, e.g. <c>softmax output (fp32)</c>.</param>
    /// <param name="Bytes">Bytes per layer instance, per rank.</param>
    /// <remarks>A class, not a struct, for the reason <see cref="MemoryTerm"/> gives.</remarks>
    public sealed record SavedTensor(string Block, string Tensor, long Bytes);

    /// <summary>Memory of one use of a user layer: one entry per property path (a stack's repeats share one entry).</summary>
    /// <param name="Path">Where it is used, e.g. <c>Llama.Blocks</c>; the root model's path is its class name.</param>
    /// <param name="LayerType">The layer class name, e.g. <c>DecoderBlock</c>.</param>
    /// <param name="Count">Instances at this path (a stack's count, times the count of the enclosing uses).</param>
    /// <param name="WeightBytes">Stored weight bytes of one instance (its own blocks, not its sublayers), per rank.</param>
    /// <param name="ActivationBytes">Bytes one instance saves for backward without checkpointing (its own blocks), per rank.</param>
    /// <param name="CheckpointedCount">Instances that are fully checkpointed (keep only their input).</param>
    /// <param name="SavedTensors">The tensors behind <paramref name="ActivationBytes"/>, op by op.</param>
    public sealed record LayerMemory(
        string Path, string LayerType, long Count, long WeightBytes, long ActivationBytes, long CheckpointedCount, IReadOnlyList<SavedTensor> SavedTensors);

    /// <summary>Names of the breakdown terms, in breakdown order.</summary>
    public static class MemoryTerms
    {
        /// <summary>Parameters (and quantized weight buffers, rotary tables) at their storage precision.</summary>
        public const string Weights = "weights";

        /// <summary>
        /// Gradients of trainable parameters as ModelGen's optimizers hold them: none in the forward, at the parameters' dtype as
        /// backward produces them, fp32 main gradients of the rank's partition in the optimizer step.
        /// </summary>
        public const string Gradients = "gradients";

        /// <summary>Optimizer state, plus fp32 master weights of 16-bit trainable parameters (the rank's partition under ZeRO).</summary>
        public const string Optimizer = "optimizer";

        /// <summary>Tensors saved for backward (and, during a checkpointed layer's backward, its recomputed ones).</summary>
        public const string Activations = "activations";

        /// <summary>
        /// Short-lived tensors: the largest temporary of the phase, logits and loss, dequantized weights, the optimizer's
        /// temporary of its largest parameter.
        /// </summary>
        public const string Transients = "transients";

        /// <summary>Keys and values of every attention block (inference).</summary>
        public const string KvCache = "kv cache";

        /// <summary>Fixed per-device overhead and the allocator margin.</summary>
        public const string Overhead = "overhead";

        /// <summary>All names in breakdown order.</summary>
        public static IReadOnlyList<string> All { get; } = new[] { Weights, Gradients, Optimizer, Activations, Transients, KvCache, Overhead };
    }

    /// <summary>Names of the phases.</summary>
    public static class MemoryPhases
    {
        /// <summary>Training forward pass, up to and including the loss.</summary>
        public const string Forward = "forward";

        /// <summary>Training backward pass.</summary>
        public const string Backward = "backward";

        /// <summary>The optimizer update.</summary>
        public const string OptimizerStep = "optimizer step";

        /// <summary>Inference over the whole prompt, filling the KV cache.</summary>
        public const string Prefill = "prefill";

        /// <summary>Inference of one token with a full KV cache.</summary>
        public const string Decode = "decode";
    }
}
