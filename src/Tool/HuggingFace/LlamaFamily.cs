using ModelGen.Specs;
using static ModelGen.Tool.HuggingFace.SpecParts;

namespace ModelGen.Tool.HuggingFace
{
    /// <summary>
    /// Llama and Mistral (transformers' <c>LlamaForCausalLM</c>, <c>MistralForCausalLM</c>): token embedding, decoder layers of
    /// RMSNorm → rotary grouped-query attention → RMSNorm → SwiGLU MLP, a final RMSNorm and the LM head (tied to the embedding
    /// when <c>tie_word_embeddings</c>). Attention is the fused kind (SDPA, transformers' default), as ModelGen's own.
    /// </summary>
    internal static class LlamaFamily
    {
        public static ModelSpec Build(ConfigJson json, string family)
        {
            var vocab = Size("vocab_size", json.Size("vocab_size"));
            var hidden = Size("hidden_size", json.Size("hidden_size"));
            var layers = Size("num_hidden_layers", json.Size("num_hidden_layers"));
            var heads = Size("num_attention_heads", json.Size("num_attention_heads"));
            var kvHeads = json.Long("num_key_value_heads") is { } kv ? Size("num_key_value_heads", kv) : heads;
            var inner = Size("intermediate_size", json.Size("intermediate_size"));
            if (json.Long("head_dim") is { } headDim && headDim * heads.Value != hidden.Value)
                throw new ToolException($"{json.Path}: head_dim {headDim} × {heads.Value} heads differs from hidden_size {hidden.Value}; ModelGen's attention uses hidden_size / heads.");
            var eps = json.Double("rms_norm_eps") ?? 1e-6;
            var theta = json.Double("rope_theta") ?? 10000.0;
            var attentionBias = json.Bool("attention_bias") ?? false;
            var mlpBias = json.Bool("mlp_bias") ?? false;
            var tied = json.Bool("tie_word_embeddings") ?? false;
            var precision = HuggingFaceConfig.Precision(json);
            var layerName = family == "mistral" ? "MistralDecoderLayer" : "LlamaDecoderLayer";

            var decoder = Layer(layerName, isModel: false, precision: null,
                new RmsNormSpec("InputLayernorm", "input_layernorm", hidden, eps),
                new AttentionSpec("SelfAttn", "self_attn", hidden, heads, kvHeads, Causal: true, Rotary: true, RopeTheta: theta, Fused: true,
                    Bias: attentionBias, DropoutP: json.Double("attention_dropout") ?? 0),
                new RmsNormSpec("PostAttentionLayernorm", "post_attention_layernorm", hidden, eps),
                new FeedForwardSpec("Mlp", "mlp", hidden, inner, FeedForwardActivation.SwiGlu, mlpBias));
            var root = Layer(json.Architecture(family == "mistral" ? "MistralForCausalLM" : "LlamaForCausalLM"), isModel: true, precision,
                new EmbeddingSpec("EmbedTokens", "model.embed_tokens", vocab, hidden),
                new StackSpec("Layers", "model.layers", layers, TypeName(layerName), 0),
                new RmsNormSpec("Norm", "model.norm", hidden, eps),
                new LinearSpec("LmHead", "lm_head", hidden, vocab, Bias: false) { TiedTo = tied ? "EmbedTokens" : null });
            return new ModelSpec(root, EquatableArray.Create(decoder));
        }
    }
}
