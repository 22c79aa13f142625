using System;

namespace ModelGen
{
    /// <summary>
    /// A sparse mixture-of-experts feed-forward block (Shazeer et al. 2017; Mixtral, Jiang et al. 2024): a bias-free router
    /// <c>gate</c> (hidden → experts) scores each token, softmax over the experts, the <see cref="TopK"/> highest are kept and
    /// renormalised to sum to 1, and each token runs only through its chosen experts, whose outputs are summed with those weights.
    /// State names follow Hugging Face Mixtral: <c>gate.weight</c>, <c>experts.N.w1.weight</c> (activation input),
    /// <c>experts.N.w3.weight</c> (up, gated activations only), <c>experts.N.w2.weight</c> (down); put
    /// <c>[StateName("block_sparse_moe")]</c> on the property to load a Mixtral checkpoint. See docs/moe.md.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property, Inherited = false)]
    public sealed class MixtureOfExpertsAttribute : Attribute
    {
        /// <summary>Sizes: config member names (<c>nameof(Config.Hidden)</c>) or int literals.</summary>
        /// <param name="hidden">Model width: input and output features.</param>
        /// <param name="inner">Inner width of each expert's feed-forward.</param>
        /// <param name="experts">Number of experts.</param>
        public MixtureOfExpertsAttribute(object hidden, object inner, object experts)
        {
            Hidden = hidden;
            Inner = inner;
            Experts = experts;
        }

        /// <summary>Model width.</summary>
        public object Hidden { get; }

        /// <summary>Inner width of each expert.</summary>
        public object Inner { get; }

        /// <summary>Number of experts.</summary>
        public object Experts { get; }

        /// <summary>Experts each token is routed to: a config member name or an int (default 2, as Mixtral).</summary>
        public object TopK { get; set; } = 2;

        /// <summary>Each expert's activation (default SwiGLU, as Mixtral: <c>w2(silu(w1(x)) · w3(x))</c>).</summary>
        public FeedForwardActivation Activation { get; set; } = FeedForwardActivation.SwiGlu;

        /// <summary>
        /// 0 (the default): dropless, every token reaches all of its <see cref="TopK"/> experts. Above 0: each expert takes at most
        /// <c>ceil(CapacityFactor · tokens · TopK / experts)</c> tokens per forward (Switch Transformer, Fedus et al. 2021, §2.2),
        /// earlier tokens first; a route beyond that contributes nothing (the residual carries the token).
        /// </summary>
        public double CapacityFactor { get; set; }
    }
}
