using System;

namespace ModelGen
{
    /// <summary>
    /// Marks a <c>partial</c> class as a whole model: the generator emits a TorchSharp module for it and the
    /// analyzers check its <see cref="VramBudgetAttribute"/> scenarios.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, Inherited = false)]
    public sealed class ModelAttribute : Attribute
    {
        /// <summary>Creates the attribute.</summary>
        /// <param name="configType">The config type whose properties hold the sizes; its defaults are what the analyzers check.</param>
        public ModelAttribute(Type configType) => ConfigType = configType;

        /// <summary>The config type.</summary>
        public Type ConfigType { get; }
    }

    /// <summary>Marks a <c>partial</c> class as a layer used inside a model (or another layer).</summary>
    [AttributeUsage(AttributeTargets.Class, Inherited = false)]
    public sealed class LayerAttribute : Attribute
    {
        /// <summary>Creates the attribute.</summary>
        /// <param name="configType">The config type whose properties hold the sizes.</param>
        public LayerAttribute(Type configType) => ConfigType = configType;

        /// <summary>The config type.</summary>
        public Type ConfigType { get; }
    }

    /// <summary>
    /// Storage precision of the parameters of a model, a layer or a single block. The nearest attribute wins:
    /// block over layer over the parent that builds it. Without any, parameters are fp32.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class | AttributeTargets.Property, Inherited = false)]
    public sealed class PrecisionAttribute : Attribute
    {
        /// <summary>Creates the attribute.</summary>
        public PrecisionAttribute(DType dtype) => DType = dtype;

        /// <summary>The storage precision.</summary>
        public DType DType { get; }

        /// <summary>
        /// Mixed precision in the manner of PyTorch's autocast, on a layer or model class: parameters stay in <see cref="DType"/>
        /// (which must be <c>Float32</c>) and every <c>[Linear]</c> of the class computes in this 16-bit dtype (a cast copy of its
        /// input and weight), while norms, embeddings and the loss stay in fp32 (docs/precision.md). Unset, or equal to
        /// <see cref="DType"/>: the class computes in its storage precision. It applies to the class it is written on.
        /// </summary>
        public DType Compute { get => _compute ?? DType; set => _compute = value; }

        private DType? _compute;
    }

    /// <summary>
    /// Activation checkpointing: on a layer, its forward keeps only its input and is recomputed during backward;
    /// on a <see cref="StackAttribute"/> property, <see cref="Every"/> picks which repeats are checkpointed.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class | AttributeTargets.Property, Inherited = false)]
    public sealed class CheckpointAttribute : Attribute
    {
        /// <summary>Full checkpointing.</summary>
        public CheckpointAttribute() : this(CheckpointMode.Full)
        {
        }

        /// <summary>Checkpointing of the given kind.</summary>
        public CheckpointAttribute(CheckpointMode mode) => Mode = mode;

        /// <summary>Full or selective.</summary>
        public CheckpointMode Mode { get; }

        /// <summary>On a stack: checkpoint every k-th repeat (1 = all). Ignored on a class.</summary>
        public int Every { get; set; } = 1;
    }

    /// <summary>The parameters of a block are not trained: no gradients, no optimizer state.</summary>
    [AttributeUsage(AttributeTargets.Property, Inherited = false)]
    public sealed class FrozenAttribute : Attribute
    {
    }

    /// <summary>Overrides the state_dict key of a block (default: the property name in snake_case).</summary>
    [AttributeUsage(AttributeTargets.Property, Inherited = false)]
    public sealed class StateNameAttribute : Attribute
    {
        /// <summary>Creates the attribute.</summary>
        public StateNameAttribute(string name) => Name = name;

        /// <summary>The key used in state_dict.</summary>
        public string Name { get; }
    }

    /// <summary>
    /// The block shares its weight with another block of the same layer (e.g. an output head tied to the token embedding):
    /// one tensor, counted once in memory and in state_dict under the other block's key.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property, Inherited = false)]
    public sealed class TiedToAttribute : Attribute
    {
        /// <summary>Creates the attribute.</summary>
        /// <param name="block">The property name of the block that owns the weight, e.g. <c>nameof(Embed)</c>.</param>
        public TiedToAttribute(string block) => Block = block;

        /// <summary>The owning block's property name.</summary>
        public string Block { get; }
    }
}
