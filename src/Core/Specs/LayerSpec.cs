using System;

namespace ModelGen.Specs
{
    /// <summary>
    /// A user's partial layer class as the generator and the memory model see it.
    /// Equality contract: value equality over every member; holds no Roslyn object.
    /// </summary>
    /// <param name="Namespace">Containing namespace, empty for the global namespace.</param>
    /// <param name="Name">The class name.</param>
    /// <param name="FullName">Fully qualified name with <c>global::</c>.</param>
    /// <param name="Accessibility">C# accessibility keyword(s) of the class, e.g. <c>public</c>.</param>
    /// <param name="ConfigType">Fully qualified config type, e.g. <c>global::Demo.LlamaConfig</c>.</param>
    /// <param name="IsModel">True for <c>[Model]</c>, false for <c>[Layer]</c>.</param>
    /// <param name="Blocks">The blocks in declaration order.</param>
    /// <param name="Forward">The user's forward method.</param>
    public sealed record LayerSpec(
        string Namespace,
        string Name,
        string FullName,
        string Accessibility,
        string ConfigType,
        bool IsModel,
        EquatableArray<BlockSpec> Blocks,
        ForwardSpec Forward) : IEquatable<LayerSpec>
    {
        /// <summary>Storage precision from the layer's own <c>[Precision]</c>; null inherits from the parent.</summary>
        public DType? Precision { get; init; }

        /// <summary>
        /// The 16-bit dtype the layer's Linear blocks compute in under mixed precision (<c>[Precision(DType.Float32, Compute = …)]</c>,
        /// docs/precision.md); null when the layer computes in its storage precision. It applies to this layer only.
        /// </summary>
        public DType? Compute { get; init; }

        /// <summary>Activation checkpointing of the whole layer.</summary>
        public CheckpointMode Checkpoint { get; init; }

        /// <summary>Memory budgets declared on the class (models only).</summary>
        public EquatableArray<ScenarioSpec> Budgets { get; init; }

        /// <summary>Adapters from the layer's own <c>[LoRA]</c>; null inherits the parent's scope (docs/lora.md).</summary>
        public LoraSpec? Lora { get; init; }

        /// <summary>
        /// True when this layer or a layer it uses has <c>[Shard]</c> blocks: its generated constructor then also takes
        /// <c>ModelGen.Parallel.TensorParallelOptions</c> and builds only this rank's shards (docs/tensor-parallel.md).
        /// </summary>
        public bool TakesTensorParallel { get; init; }

        /// <summary>The <c>[Sublayer]</c> and <c>[Stack]</c> blocks whose layer takes tensor-parallel options (see <see cref="TakesTensorParallel"/>).</summary>
        public EquatableArray<string> ShardedLayers { get; init; }

        /// <summary>
        /// The analysis of the user's <c>Forward</c> body (docs/forward-analysis.md): block calls and ops in the order they run;
        /// null when it is not analyzed, and the memory model assumes the blocks run once each in declaration order.
        /// </summary>
        public ModelGen.Memory.ForwardBody? Body { get; init; }
    }
}
