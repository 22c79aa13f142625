using System;

namespace ModelGen.Specs
{
    /// <summary>
    /// One block (a partial property) of a layer: what it is, how big, and the memory policy the user put on it.
    /// Equality contract: value equality over every member, including the concrete record type.
    /// </summary>
    /// <param name="Name">The property name the user declared, e.g. <c>Gate</c>.</param>
    /// <param name="StateName">The state_dict key of this block, e.g. <c>gate</c>.</param>
    public abstract record BlockSpec(string Name, string StateName) : IEquatable<BlockSpec>
    {
        /// <summary>Storage precision set on the block itself; null inherits the layer's.</summary>
        public DType? Precision { get; init; }

        /// <summary>How the block's weight is split across tensor-parallel ranks.</summary>
        public ShardStyle Shard { get; init; }

        /// <summary>Weight-only quantization of the block; null when not quantized.</summary>
        public QuantSpec? Quant { get; init; }

        /// <summary>True when the block's parameters are not trained (no gradients, no optimizer state).</summary>
        public bool Frozen { get; init; }

        /// <summary>The declared property type, fully qualified (<c>global::TorchSharp.Modules.Linear</c>); the generated field has this type.</summary>
        public string PropertyType { get; init; } = "";

        /// <summary>The declared property's modifiers other than <c>partial</c> (<c>public</c>, <c>new</c>, <c>virtual</c>, …), repeated by the implementation.</summary>
        public string PropertyModifiers { get; init; } = "";

        /// <summary>Name of the block whose weight this block shares (tied embeddings); its weight is not counted twice.</summary>
        public string? TiedTo { get; init; }

        /// <summary><c>[LoRA]</c> on this block's property (a Linear, Attention or FeedForward): its own scope, nearer than the class's; null otherwise.</summary>
        public LoraSpec? Lora { get; init; }
    }

    /// <summary>Weight-only quantization settings.</summary>
    /// <param name="Kind">The format.</param>
    /// <param name="GroupSize">Elements sharing one scale (int4 group, NF4 block); 0 means per output channel (int8).</param>
    /// <param name="DoubleQuant">NF4 only: quantize the absmax constants again to 8 bits.</param>
    public sealed record QuantSpec(QuantKind Kind, int GroupSize, bool DoubleQuant);

    /// <summary><c>y = x Wᵀ + b</c>.</summary>
    public sealed record LinearSpec(string Name, string StateName, Dim In, Dim Out, bool Bias) : BlockSpec(Name, StateName)
    {
        /// <summary>What the block is as a model output (<c>[Head]</c>); null when the user did not say.</summary>
        public HeadKind? Head { get; init; }
    }

    /// <summary>A lookup table of <paramref name="Count"/> rows of width <paramref name="Width"/>.</summary>
    public sealed record EmbeddingSpec(string Name, string StateName, Dim Count, Dim Width) : BlockSpec(Name, StateName)
    {
        /// <summary>What the table is indexed by; a position table caps the sequence length at <see cref="Count"/>.</summary>
        public EmbeddingRole Role { get; init; }
    }

    /// <summary>BERT's pooler: <c>tanh(dense(x[:, 0]))</c>, one row per sequence (ModelGen.Nn.Pooler).</summary>
    public sealed record PoolerSpec(string Name, string StateName, Dim Hidden) : BlockSpec(Name, StateName);

    /// <summary>LayerNorm over the last dimension, with weight and (optionally) bias.</summary>
    public sealed record LayerNormSpec(string Name, string StateName, Dim Hidden, double Eps, bool Bias) : BlockSpec(Name, StateName);

    /// <summary>RMSNorm over the last dimension, with weight.</summary>
    public sealed record RmsNormSpec(string Name, string StateName, Dim Hidden, double Eps) : BlockSpec(Name, StateName);

    /// <summary>Dropout with drop probability <paramref name="P"/>.</summary>
    public sealed record DropoutSpec(string Name, string StateName, double P) : BlockSpec(Name, StateName);

    /// <summary>
    /// Self-attention: multi-head when <paramref name="KvHeads"/> equals <paramref name="Heads"/>, grouped-query when it divides it,
    /// multi-query when it is 1.
    /// </summary>
    public sealed record AttentionSpec(
        string Name,
        string StateName,
        Dim Hidden,
        Dim Heads,
        Dim KvHeads,
        bool Causal,
        bool Rotary,
        double RopeTheta,
        bool Fused,
        bool Bias,
        double DropoutP) : BlockSpec(Name, StateName)
    {
        /// <summary>Keys each query sees, itself included, when the attention is a sliding window; null sees every earlier key.</summary>
        public long? SlidingWindow { get; init; }
    }

    /// <summary>A position-wise feed-forward block of inner width <paramref name="Inner"/>.</summary>
    public sealed record FeedForwardSpec(string Name, string StateName, Dim Hidden, Dim Inner, FeedForwardActivation Activation, bool Bias) : BlockSpec(Name, StateName)
    {
        /// <summary>Whether the activation multiplies a gate projection with the up projection (SwiGLU, GeGLU): a <c>gate_proj</c> exists.</summary>
        public bool Gated => Activation is FeedForwardActivation.SwiGlu or FeedForwardActivation.GeGlu;
    }

    /// <summary>
    /// A sparse mixture-of-experts feed-forward (docs/moe.md): a router over <paramref name="Experts"/> bias-free feed-forwards of inner
    /// width <paramref name="Inner"/>, each token running through its <paramref name="TopK"/> highest-scoring experts.
    /// </summary>
    /// <param name="Name">The property name.</param>
    /// <param name="StateName">The state_dict key prefix (Mixtral: <c>block_sparse_moe</c>).</param>
    /// <param name="Hidden">Model width.</param>
    /// <param name="Inner">Inner width of each expert.</param>
    /// <param name="Experts">Number of experts.</param>
    /// <param name="TopK">Experts each token runs through.</param>
    /// <param name="Activation">Each expert's activation.</param>
    /// <param name="CapacityFactor">0: dropless; above 0: each expert takes at most <c>ceil(CapacityFactor · tokens · TopK / Experts)</c> tokens.</param>
    public sealed record MixtureOfExpertsSpec(
        string Name, string StateName, Dim Hidden, Dim Inner, Dim Experts, Dim TopK, FeedForwardActivation Activation, double CapacityFactor) : BlockSpec(Name, StateName)
    {
        /// <summary>Whether each expert multiplies an activated <c>w1</c> with an up projection <c>w3</c> (SwiGLU, GeGLU).</summary>
        public bool Gated => Activation is FeedForwardActivation.SwiGlu or FeedForwardActivation.GeGlu;
    }

    /// <summary>A user layer (another generated partial class) used once inside this layer.</summary>
    /// <param name="Name">The property name.</param>
    /// <param name="StateName">The state_dict key.</param>
    /// <param name="LayerType">Fully qualified type name, e.g. <c>global::Demo.DecoderBlock</c>.</param>
    public sealed record LayerRefSpec(string Name, string StateName, string LayerType) : BlockSpec(Name, StateName);

    /// <summary><paramref name="Count"/> repeats of a user layer, registered as a ModuleList.</summary>
    /// <param name="Name">The property name.</param>
    /// <param name="StateName">The state_dict key prefix.</param>
    /// <param name="Count">Number of repeats.</param>
    /// <param name="LayerType">Fully qualified type of the repeated layer.</param>
    /// <param name="CheckpointEvery">Checkpoint every k-th repeat (0: as the layer's own attribute says).</param>
    public sealed record StackSpec(string Name, string StateName, Dim Count, string LayerType, int CheckpointEvery) : BlockSpec(Name, StateName);
}
