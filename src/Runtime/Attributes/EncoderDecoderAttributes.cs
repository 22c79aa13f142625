using System;

namespace ModelGen
{
    /// <summary>
    /// Cross-attention of an encoder–decoder model (Vaswani et al. 2017, §3.2.3): queries from the decoder stream, keys and values from
    /// the encoder's output, passed as a second input (<c>Cross.call(h, memory)</c>; ModelGen <c>CrossAttention</c>). No causal mask:
    /// every decoder position sees every encoder position. The encoder output may be shorter or longer than the decoder input.
    /// State names <c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c>, <c>o_proj</c>. See docs/encoder-decoder.md.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property, Inherited = false)]
    public sealed class CrossAttentionAttribute : Attribute
    {
        /// <summary>Sizes: config member names (<c>nameof(Config.Hidden)</c>) or int literals.</summary>
        /// <param name="hidden">Width of the decoder stream and of the encoder output.</param>
        /// <param name="heads">Attention heads; must divide <paramref name="hidden"/>.</param>
        public CrossAttentionAttribute(object hidden, object heads)
        {
            Hidden = hidden;
            Heads = heads;
        }

        /// <summary>Model width.</summary>
        public object Hidden { get; }

        /// <summary>Heads.</summary>
        public object Heads { get; }

        /// <summary>Scale scores by <c>1/√headDim</c> (default true); T5 sets false (its initialization absorbs the scale).</summary>
        public bool Scaled { get; set; } = true;

        /// <summary>Fused <c>scaled_dot_product_attention</c> (default true) or the eager softmax core.</summary>
        public bool Fused { get; set; } = true;

        /// <summary>Bias on the projections (default false).</summary>
        public bool Bias { get; set; }

        /// <summary>Dropout on attention probabilities in training (default 0).</summary>
        public double Dropout { get; set; }
    }

    /// <summary>
    /// Self-attention with T5's relative position bias (Raffel et al. 2020, §2.1; Shaw et al. 2018): a learned table
    /// <c>[Buckets, heads]</c> indexed by the bucket of each key's offset from the query, added to the attention scores
    /// (ModelGen <c>RelativeAttention</c>). Bidirectional buckets when <see cref="Causal"/> is false (an encoder), one-sided when true
    /// (a decoder). Each block owns its table (T5 shares the first layer's with its stack; see docs/encoder-decoder.md). State names
    /// <c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c>, <c>o_proj</c>, <c>relative_attention_bias.weight</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property, Inherited = false)]
    public sealed class RelativeAttentionAttribute : Attribute
    {
        /// <summary>Sizes: config member names (<c>nameof(Config.Hidden)</c>) or int literals.</summary>
        /// <param name="hidden">Model width.</param>
        /// <param name="heads">Attention heads; must divide <paramref name="hidden"/>.</param>
        public RelativeAttentionAttribute(object hidden, object heads)
        {
            Hidden = hidden;
            Heads = heads;
        }

        /// <summary>Model width.</summary>
        public object Hidden { get; }

        /// <summary>Heads.</summary>
        public object Heads { get; }

        /// <summary>Causal mask and one-sided buckets (a decoder); false (the default) attends both ways with two-sided buckets (an encoder).</summary>
        public bool Causal { get; set; }

        /// <summary>Rows of the bias table (T5: 32). Half are exact offsets, half log-spaced up to <see cref="MaxDistance"/>; two-sided buckets split them by direction.</summary>
        public int Buckets { get; set; } = 32;

        /// <summary>Offsets at or beyond this share the last bucket (T5: 128).</summary>
        public int MaxDistance { get; set; } = 128;

        /// <summary>Scale scores by <c>1/√headDim</c>; false (the default) as T5 does.</summary>
        public bool Scaled { get; set; }

        /// <summary>Bias on the projections (default false, as T5).</summary>
        public bool Bias { get; set; }

        /// <summary>Dropout on attention probabilities in training (default 0).</summary>
        public double Dropout { get; set; }
    }
}
