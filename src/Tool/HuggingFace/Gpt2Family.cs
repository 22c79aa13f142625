using ModelGen.Specs;
using static ModelGen.Tool.HuggingFace.SpecParts;

namespace ModelGen.Tool.HuggingFace
{
    /// <summary>
    /// GPT-2 (transformers' <c>GPT2LMHeadModel</c>): token and learned position embeddings with dropout, pre-norm blocks of
    /// LayerNorm → eager causal attention with biases and dropout on its probabilities → LayerNorm → GELU MLP, dropout on each
    /// residual branch, a final LayerNorm and a head tied to the token embedding. The same blocks as samples/Gpt2, so a planned
    /// <c>gpt2</c> config and the sample's <c>DescribeModel</c> give the same numbers.
    /// </summary>
    internal static class Gpt2Family
    {
        public static ModelSpec Build(ConfigJson json)
        {
            var vocab = Size("vocab_size", json.Size("vocab_size"));
            var positions = Size("n_positions", json.Size("n_positions", "n_ctx"));
            var hidden = Size("n_embd", json.Size("n_embd"));
            var layers = Size("n_layer", json.Size("n_layer"));
            var heads = Size("n_head", json.Size("n_head"));
            var inner = json.Long("n_inner") is { } n ? Size("n_inner", n) : new Dim("n_embd", 4 * hidden.Value);
            var eps = json.Double("layer_norm_epsilon") ?? 1e-5;
            var embedDrop = json.Double("embd_pdrop") ?? 0.1;
            var attentionDrop = json.Double("attn_pdrop") ?? 0.1;
            var residualDrop = json.Double("resid_pdrop") ?? 0.1;
            var tied = json.Bool("tie_word_embeddings") ?? true;

            var block = Layer("GPT2Block", isModel: false, precision: null,
                new LayerNormSpec("Ln1", "ln_1", hidden, eps, Bias: true),
                new AttentionSpec("Attn", "attn", hidden, heads, heads, Causal: true, Rotary: false, RopeTheta: 10000, Fused: false, Bias: true, DropoutP: attentionDrop),
                new LayerNormSpec("Ln2", "ln_2", hidden, eps, Bias: true),
                new FeedForwardSpec("Mlp", "mlp", hidden, inner, FeedForwardActivation.Gelu, Bias: true),
                new DropoutSpec("ResidDrop", "resid_drop", residualDrop));
            var root = Layer(json.Architecture("GPT2LMHeadModel"), isModel: true, HuggingFaceConfig.Precision(json),
                new EmbeddingSpec("Wte", "wte", vocab, hidden),
                new EmbeddingSpec("Wpe", "wpe", positions, hidden),
                new DropoutSpec("Drop", "drop", embedDrop),
                new StackSpec("H", "h", layers, TypeName("GPT2Block"), 0),
                new LayerNormSpec("LnF", "ln_f", hidden, eps, Bias: true),
                new LinearSpec("LMHead", "lm_head", hidden, vocab, Bias: false) { TiedTo = tied ? "Wte" : null });
            return new ModelSpec(root, EquatableArray.Create(block));
        }
    }
}
