using System;

namespace ModelGen
{
    // Sizes are given either as the name of a config property (nameof(LlamaConfig.Hidden)), read from the
    // config instance at run time and from the config's defaults at compile time, or as integer literals.

    /// <summary>A fully connected layer, <c>y = x Wᵀ + b</c> (TorchSharp <c>Linear</c>).</summary>
    [AttributeUsage(AttributeTargets.Property, Inherited = false)]
    public sealed class LinearAttribute : Attribute
    {
        /// <summary>Sizes: config member names (<c>nameof(Config.Hidden)</c>) or int literals.</summary>
        public LinearAttribute(object inFeatures, object outFeatures)
        {
            InFeatures = inFeatures;
            OutFeatures = outFeatures;
        }


        /// <summary>Input features: a config member name or an int.</summary>
        public object InFeatures { get; }

        /// <summary>Output features: a config member name or an int.</summary>
        public object OutFeatures { get; }

        /// <summary>Whether the layer has a bias (default true).</summary>
        public bool Bias { get; set; } = true;
    }

    /// <summary>A lookup table (TorchSharp <c>Embedding</c>).</summary>
    [AttributeUsage(AttributeTargets.Property, Inherited = false)]
    public sealed class EmbeddingAttribute : Attribute
    {
        /// <summary>Sizes: config member names (<c>nameof(Config.Hidden)</c>) or int literals.</summary>
        public EmbeddingAttribute(object count, object width)
        {
            Count = count;
            Width = width;
        }


        /// <summary>Number of rows (vocabulary size).</summary>
        public object Count { get; }

        /// <summary>Row width (hidden size).</summary>
        public object Width { get; }

        /// <summary>
        /// What the table is indexed by (default token ids). <see cref="EmbeddingRole.Positions"/> marks a learned position table:
        /// the sequence length can never exceed its row count (a budget beyond it is MG0540).
        /// </summary>
        public EmbeddingRole Role { get; set; } = EmbeddingRole.Tokens;
    }

    /// <summary>LayerNorm over the last dimension.</summary>
    [AttributeUsage(AttributeTargets.Property, Inherited = false)]
    public sealed class LayerNormAttribute : Attribute
    {
        /// <summary>Size: a config member name or an int literal.</summary>
        public LayerNormAttribute(object hidden) => Hidden = hidden;


        /// <summary>Normalized size.</summary>
        public object Hidden { get; }

        /// <summary>Epsilon (default 1e-5).</summary>
        public double Eps { get; set; } = 1e-5;

        /// <summary>Whether the norm has a bias (default true).</summary>
        public bool Bias { get; set; } = true;
    }

    /// <summary>RMSNorm over the last dimension (weight only).</summary>
    [AttributeUsage(AttributeTargets.Property, Inherited = false)]
    public sealed class RmsNormAttribute : Attribute
    {
        /// <summary>Size: a config member name or an int literal.</summary>
        public RmsNormAttribute(object hidden) => Hidden = hidden;


        /// <summary>Normalized size.</summary>
        public object Hidden { get; }

        /// <summary>Epsilon (default 1e-6).</summary>
        public double Eps { get; set; } = 1e-6;
    }

    /// <summary>Dropout with drop probability <see cref="P"/>.</summary>
    [AttributeUsage(AttributeTargets.Property, Inherited = false)]
    public sealed class DropoutAttribute : Attribute
    {
        /// <summary>Creates the attribute.</summary>
        public DropoutAttribute(double p) => P = p;

        /// <summary>Drop probability.</summary>
        public double P { get; }
    }

    /// <summary>
    /// Self-attention with fused QKV-free projections named <c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c>, <c>o_proj</c>.
    /// Multi-head by default; grouped-query with <see cref="KvHeads"/>; multi-query when that is 1.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property, Inherited = false)]
    public sealed class AttentionAttribute : Attribute
    {
        /// <summary>Sizes: config member names (<c>nameof(Config.Hidden)</c>) or int literals.</summary>
        public AttentionAttribute(object hidden, object heads)
        {
            Hidden = hidden;
            Heads = heads;
        }


        /// <summary>Model width.</summary>
        public object Hidden { get; }

        /// <summary>Query heads.</summary>
        public object Heads { get; }

        /// <summary>Key/value heads: a config member name or an int as a string; default = <see cref="Heads"/>.</summary>
        public string? KvHeads { get; set; }

        /// <summary>Causal mask (default true).</summary>
        public bool Causal { get; set; } = true;

        /// <summary>Rotary position embedding on queries and keys (default false).</summary>
        public bool Rotary { get; set; }

        /// <summary>Rotary base (default 10000).</summary>
        public double RopeTheta { get; set; } = 10000;

        /// <summary>Fused <c>scaled_dot_product_attention</c> (default true) or eager softmax(QKᵀ)V.</summary>
        public bool Fused { get; set; } = true;

        /// <summary>Bias on the projections (default false).</summary>
        public bool Bias { get; set; }

        /// <summary>Dropout on attention probabilities (default 0).</summary>
        public double Dropout { get; set; }

        /// <summary>
        /// Sliding-window attention (Mistral; Beltagy et al. 2020): each query sees itself and the <c>SlidingWindow − 1</c> keys before
        /// it; 0 (the default) sees every earlier key. Causal attention only; a windowed layer runs the eager core.
        /// </summary>
        public int SlidingWindow { get; set; }
    }

    /// <summary>A position-wise feed-forward block.</summary>
    [AttributeUsage(AttributeTargets.Property, Inherited = false)]
    public sealed class FeedForwardAttribute : Attribute
    {
        /// <summary>Sizes: config member names (<c>nameof(Config.Hidden)</c>) or int literals.</summary>
        public FeedForwardAttribute(object hidden, object inner)
        {
            Hidden = hidden;
            Inner = inner;
        }


        /// <summary>Model width.</summary>
        public object Hidden { get; }

        /// <summary>Inner width.</summary>
        public object Inner { get; }

        /// <summary>Activation (default GELU).</summary>
        public FeedForwardActivation Activation { get; set; } = FeedForwardActivation.Gelu;

        /// <summary>Bias on the projections (default true).</summary>
        public bool Bias { get; set; } = true;
    }

    /// <summary>A user layer (another <c>[Layer]</c> partial class) used once inside this one.</summary>
    [AttributeUsage(AttributeTargets.Property, Inherited = false)]
    public sealed class SublayerAttribute : Attribute
    {
    }

    /// <summary><c>Count</c> repeats of a user layer, on a <c>ModuleList&lt;TLayer&gt;</c> property.</summary>
    [AttributeUsage(AttributeTargets.Property, Inherited = false)]
    public sealed class StackAttribute : Attribute
    {
        /// <summary>Count: a config member name or an int literal.</summary>
        public StackAttribute(object count) => Count = count;


        /// <summary>Number of repeats.</summary>
        public object Count { get; }
    }
}
