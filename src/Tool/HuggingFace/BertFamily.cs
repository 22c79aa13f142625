using ModelGen.Specs;
using static ModelGen.Tool.HuggingFace.SpecParts;

namespace ModelGen.Tool.HuggingFace
{
    /// <summary>
    /// BERT as <c>BertForMaskedLM</c> (Devlin et al. 2019): word, position and token-type embeddings, LayerNorm and dropout;
    /// post-norm encoder layers of bidirectional eager attention with biases → dropout → LayerNorm, GELU MLP → dropout →
    /// LayerNorm; then the prediction head (dense, LayerNorm) and a decoder tied to the word embedding that gives vocabulary logits.
    /// </summary>
    internal static class BertFamily
    {
        public static ModelSpec Build(ConfigJson json)
        {
            var vocab = Size("vocab_size", json.Size("vocab_size"));
            var hidden = Size("hidden_size", json.Size("hidden_size"));
            var layers = Size("num_hidden_layers", json.Size("num_hidden_layers"));
            var heads = Size("num_attention_heads", json.Size("num_attention_heads"));
            var inner = Size("intermediate_size", json.Size("intermediate_size"));
            var positions = Size("max_position_embeddings", json.Size("max_position_embeddings"));
            var types = Size("type_vocab_size", json.Long("type_vocab_size") ?? 2);
            var eps = json.Double("layer_norm_eps") ?? 1e-12;
            var hiddenDrop = json.Double("hidden_dropout_prob") ?? 0.1;
            var attentionDrop = json.Double("attention_probs_dropout_prob") ?? 0.1;
            var tied = json.Bool("tie_word_embeddings") ?? true;

            var layer = Layer("BertLayer", isModel: false, precision: null,
                new AttentionSpec("Attention", "attention", hidden, heads, heads, Causal: false, Rotary: false, RopeTheta: 10000, Fused: false, Bias: true, DropoutP: attentionDrop),
                new DropoutSpec("AttentionDropout", "attention.output.dropout", hiddenDrop),
                new LayerNormSpec("AttentionLayerNorm", "attention.output.LayerNorm", hidden, eps, Bias: true),
                new FeedForwardSpec("Mlp", "intermediate", hidden, inner, FeedForwardActivation.Gelu, Bias: true),
                new DropoutSpec("OutputDropout", "output.dropout", hiddenDrop),
                new LayerNormSpec("OutputLayerNorm", "output.LayerNorm", hidden, eps, Bias: true));
            var root = Layer(json.Architecture("BertForMaskedLM"), isModel: true, HuggingFaceConfig.Precision(json),
                new EmbeddingSpec("WordEmbeddings", "bert.embeddings.word_embeddings", vocab, hidden),
                new EmbeddingSpec("PositionEmbeddings", "bert.embeddings.position_embeddings", positions, hidden),
                new EmbeddingSpec("TokenTypeEmbeddings", "bert.embeddings.token_type_embeddings", types, hidden),
                new LayerNormSpec("EmbeddingsLayerNorm", "bert.embeddings.LayerNorm", hidden, eps, Bias: true),
                new DropoutSpec("EmbeddingsDropout", "bert.embeddings.dropout", hiddenDrop),
                new StackSpec("Layer", "bert.encoder.layer", layers, TypeName("BertLayer"), 0),
                new LinearSpec("Transform", "cls.predictions.transform.dense", hidden, hidden, Bias: true),
                new LayerNormSpec("TransformLayerNorm", "cls.predictions.transform.LayerNorm", hidden, eps, Bias: true),
                new LinearSpec("Decoder", "cls.predictions.decoder", hidden, vocab, Bias: true) { TiedTo = tied ? "WordEmbeddings" : null });
            return new ModelSpec(root, EquatableArray.Create(layer));
        }
    }
}
