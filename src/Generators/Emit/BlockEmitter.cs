using ModelGen.Specs;

namespace ModelGen.Generators.Emit
{
    /// <summary>The constructor expression of each block kind: the TorchSharp or ModelGen module it becomes.</summary>
    internal static class BlockEmitter
    {
        public const string Device = "device";

        /// <summary>The expression that creates <paramref name="block"/>, with parameters in <paramref name="dtype"/> (a DType expression).</summary>
        public static string Create(BlockSpec block, string dtype, DType? compute = null)
        {
            var scalar = $"global::ModelGen.Precision.ToScalarType({dtype})";
            return block switch
            {
                // Mixed precision (docs/precision.md): fp32 parameters, the product in the class's 16-bit compute dtype.
                LinearSpec { Quant: null } l when compute is { } c =>
                    $"new global::ModelGen.AutocastLinear({Size(l.In)}, {Size(l.Out)}, hasBias: {Literals.Bool(l.Bias)}, compute: global::ModelGen.Precision.ToScalarType({Literals.Enum(c)}), storage: {scalar}, device: {Device})",
                LinearSpec { Quant: { } q } l =>
                    $"new global::ModelGen.Quantization.QuantizedLinear({Size(l.In)}, {Size(l.Out)}, {Literals.Bool(l.Bias)}, {Literals.Enum(q.Kind)}, groupSize: {q.GroupSize}, doubleQuant: {Literals.Bool(q.DoubleQuant)}, computeDtype: {scalar}, device: {Device})",
                LinearSpec l =>
                    $"global::TorchSharp.torch.nn.Linear({Size(l.In)}, {Size(l.Out)}, hasBias: {Literals.Bool(l.Bias)}, device: {Device}, dtype: {scalar})",
                EmbeddingSpec e =>
                    $"global::TorchSharp.torch.nn.Embedding({Size(e.Count)}, {Size(e.Width)}, device: {Device}, dtype: {scalar})",
                LayerNormSpec n =>
                    $"global::TorchSharp.torch.nn.LayerNorm({Size(n.Hidden)}, eps: {Literals.Number(n.Eps)}, bias: {Literals.Bool(n.Bias)}, device: {Device}, dtype: {scalar})",
                RmsNormSpec n =>
                    $"new global::ModelGen.Nn.RmsNorm({Size(n.Hidden)}, eps: {Literals.Number(n.Eps)}, dtype: {scalar}, device: {Device})",
                DropoutSpec d =>
                    $"global::TorchSharp.torch.nn.Dropout({Literals.Number(d.P)})",
                AttentionSpec a =>
                    $"new global::ModelGen.Nn.Attention({Size(a.Hidden)}, {Size(a.Heads)}, {Size(a.KvHeads)}, causal: {Literals.Bool(a.Causal)}, rotary: {Literals.Bool(a.Rotary)}, ropeTheta: {Literals.Number(a.RopeTheta)}, fused: {Literals.Bool(a.Fused)}, bias: {Literals.Bool(a.Bias)}, dropout: {Literals.Number(a.DropoutP)}, dtype: {scalar}, device: {Device}{Quantize(a.Quant)}{Compute(compute)})" + (a.SlidingWindow is { } window ? $" {{ SlidingWindow = {Literals.Long(window)} }}" : ""),
                FeedForwardSpec f =>
                    $"new global::ModelGen.Nn.FeedForward({Size(f.Hidden)}, {Size(f.Inner)}, {Literals.Enum(f.Activation)}, bias: {Literals.Bool(f.Bias)}, dtype: {scalar}, device: {Device}{Quantize(f.Quant)}{Compute(compute)})",
                PoolerSpec p =>
                    $"new global::ModelGen.Nn.Pooler({Size(p.Hidden)}, dtype: {scalar}, device: {Device})",
                MixtureOfExpertsSpec m => MixtureOfExpertsEmitter.Create(m, scalar), // MixtureOfExpertsEmitter.cs
                LayerRefSpec r =>
                    $"new {r.LayerType}(config, {dtype}, {Device})",
                CrossAttentionSpec c =>
                    $"new global::ModelGen.Nn.CrossAttention({Size(c.Hidden)}, {Size(c.Heads)}, scaled: {Literals.Bool(c.Scaled)}, fused: {Literals.Bool(c.Fused)}, bias: {Literals.Bool(c.Bias)}, dropout: {Literals.Number(c.DropoutP)}, dtype: {scalar}, device: {Device})",
                RelativeAttentionSpec r =>
                    $"new global::ModelGen.Nn.RelativeAttention({Size(r.Hidden)}, {Size(r.Heads)}, causal: {Literals.Bool(r.Causal)}, buckets: {Literals.Long(r.Buckets)}, maxDistance: {Literals.Long(r.MaxDistance)}, scaled: {Literals.Bool(r.Scaled)}, bias: {Literals.Bool(r.Bias)}, dropout: {Literals.Number(r.DropoutP)}, dtype: {scalar}, device: {Device})",
                _ => throw new System.ArgumentOutOfRangeException(nameof(block), block.GetType().Name),
            };
        }

        /// <summary>[Quantize] on an Attention or FeedForward block: the argument that makes its projections QuantizedLinear (issue 13).</summary>
        private static string Quantize(QuantSpec? q) => q is null
            ? ""
            : $", quantize: new global::ModelGen.Quantization.ProjectionQuantization({Literals.Enum(q.Kind)}, {q.GroupSize}, {Literals.Bool(q.DoubleQuant)})";

        /// <summary>Mixed precision on an Attention or FeedForward block: the argument that makes it compute in 16 bits (docs/precision.md).</summary>
        private static string Compute(DType? compute) => compute is { } c
            ? $", compute: global::ModelGen.Precision.ToScalarType({Literals.Enum(c)})"
            : "";

        /// <summary>A size: <c>config.Hidden</c> or a literal.</summary>
        public static string Size(Dim dim) => dim.Member is null ? Literals.Long(dim.Value) : "config." + Literals.Identifier(dim.Member);

    }
}
