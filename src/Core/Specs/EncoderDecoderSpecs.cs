namespace ModelGen.Specs
{
    /// <summary>
    /// Cross-attention: queries from the block's first input, keys and values from its second (an encoder output of the same width).
    /// Equality contract: value equality over every member.
    /// </summary>
    /// <param name="Name">The property name.</param>
    /// <param name="StateName">The state_dict key prefix.</param>
    /// <param name="Hidden">Width of both inputs.</param>
    /// <param name="Heads">Heads (keys and values have as many).</param>
    /// <param name="Scaled">Scores are scaled by <c>1/√headDim</c>.</param>
    /// <param name="Fused">The core runs through <c>scaled_dot_product_attention</c>.</param>
    /// <param name="Bias">The four projections have biases.</param>
    /// <param name="DropoutP">Dropout on the attention probabilities in training.</param>
    public sealed record CrossAttentionSpec(string Name, string StateName, Dim Hidden, Dim Heads, bool Scaled, bool Fused, bool Bias, double DropoutP) : BlockSpec(Name, StateName);

    /// <summary>
    /// Self-attention with T5's bucketed relative position bias (its own <c>[Buckets, Heads]</c> table); always the eager core.
    /// Equality contract: value equality over every member.
    /// </summary>
    /// <param name="Name">The property name.</param>
    /// <param name="StateName">The state_dict key prefix.</param>
    /// <param name="Hidden">Model width.</param>
    /// <param name="Heads">Heads.</param>
    /// <param name="Causal">Causal mask and one-sided buckets.</param>
    /// <param name="Buckets">Rows of the bias table.</param>
    /// <param name="MaxDistance">Offsets from here on share the last bucket.</param>
    /// <param name="Scaled">Scores are scaled by <c>1/√headDim</c>.</param>
    /// <param name="Bias">The four projections have biases.</param>
    /// <param name="DropoutP">Dropout on the attention probabilities in training.</param>
    public sealed record RelativeAttentionSpec(string Name, string StateName, Dim Hidden, Dim Heads, bool Causal, long Buckets, long MaxDistance, bool Scaled, bool Bias, double DropoutP) : BlockSpec(Name, StateName);
}
