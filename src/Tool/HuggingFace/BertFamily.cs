using System.Collections.Generic;
using ModelGen.Specs;
using static ModelGen.Tool.HuggingFace.SpecParts;

namespace ModelGen.Tool.HuggingFace
{
    /// <summary>
    /// BERT (Devlin et al. 2019) as its first <c>architectures</c> entry says. The encoder is always the same: word, position
    /// (<see cref="EmbeddingRole.Positions"/>: caps the sequence) and token-type embeddings, LayerNorm and dropout; post-norm layers of
    /// bidirectional eager attention with biases → dropout → LayerNorm, MLP (<c>hidden_act</c>; BERT's <c>gelu</c> is the erf form)
    /// → dropout → LayerNorm. What follows it is the architecture's: <c>BertForMaskedLM</c> (the default) a prediction transform and a
    /// decoder tied to the word embedding; <c>BertForSequenceClassification</c> the pooler, dropout and a classifier of
    /// <c>num_labels</c> outputs; <c>BertForTokenClassification</c> dropout and a per-token classifier; <c>BertModel</c> the pooler and no head.
    /// </summary>
    internal static class BertFamily
    {
        /// <summary>The architectures this family builds; another is refused rather than planned as something it is not.</summary>
        public static readonly IReadOnlyList<string> Architectures = new[] { "BertForMaskedLM", "BertForSequenceClassification", "BertForTokenClassification", "BertModel" };

        public static ModelSpec Build(ConfigJson json)
        {
            var architecture = json.Architecture("BertForMaskedLM");
            if (!((IList<string>)Architectures).Contains(architecture))
                throw new ToolException($"{json.Path}: architecture \"{architecture}\" is not one the bert family builds; it builds {string.Join(", ", Architectures)}.");
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

            var layer = Layer("BertLayer", isModel: false, precision: null,
                new AttentionSpec("Attention", "attention", hidden, heads, heads, Causal: false, Rotary: false, RopeTheta: 10000, Fused: false, Bias: true, DropoutP: attentionDrop),
                new DropoutSpec("AttentionDropout", "attention.output.dropout", hiddenDrop),
                new LayerNormSpec("AttentionLayerNorm", "attention.output.LayerNorm", hidden, eps, Bias: true),
                new FeedForwardSpec("Mlp", "intermediate", hidden, inner, Activation(json), Bias: true),
                new DropoutSpec("OutputDropout", "output.dropout", hiddenDrop),
                new LayerNormSpec("OutputLayerNorm", "output.LayerNorm", hidden, eps, Bias: true));
            var blocks = new List<BlockSpec>
            {
                new EmbeddingSpec("WordEmbeddings", "bert.embeddings.word_embeddings", vocab, hidden),
                new EmbeddingSpec("PositionEmbeddings", "bert.embeddings.position_embeddings", positions, hidden) { Role = EmbeddingRole.Positions },
                new EmbeddingSpec("TokenTypeEmbeddings", "bert.embeddings.token_type_embeddings", types, hidden) { Role = EmbeddingRole.TokenTypes },
                new LayerNormSpec("EmbeddingsLayerNorm", "bert.embeddings.LayerNorm", hidden, eps, Bias: true),
                new DropoutSpec("EmbeddingsDropout", "bert.embeddings.dropout", hiddenDrop),
                new StackSpec("Layer", "bert.encoder.layer", layers, TypeName("BertLayer"), 0),
            };
            // Hugging Face's classifiers take their dropout from classifier_dropout when it is set, else hidden_dropout_prob.
            var classifierDrop = json.Double("classifier_dropout") ?? hiddenDrop;
            switch (architecture)
            {
                case "BertForSequenceClassification":
                    blocks.Add(new PoolerSpec("Pooler", "bert.pooler", hidden));
                    blocks.Add(new DropoutSpec("Dropout", "dropout", classifierDrop));
                    blocks.Add(new LinearSpec("Classifier", "classifier", hidden, Labels(json), Bias: true) { Head = HeadKind.Classifier });
                    break;
                case "BertForTokenClassification":
                    // One label per token: logits at every position with a cross-entropy, what the memory model counts for an LM head.
                    blocks.Add(new DropoutSpec("Dropout", "dropout", classifierDrop));
                    blocks.Add(new LinearSpec("Classifier", "classifier", hidden, Labels(json), Bias: true) { Head = HeadKind.LanguageModel });
                    break;
                case "BertModel":
                    blocks.Add(new PoolerSpec("Pooler", "pooler", hidden));
                    break;
                default:
                    var tied = json.Bool("tie_word_embeddings") ?? true;
                    blocks.Add(new LinearSpec("Transform", "cls.predictions.transform.dense", hidden, hidden, Bias: true));
                    blocks.Add(new LayerNormSpec("TransformLayerNorm", "cls.predictions.transform.LayerNorm", hidden, eps, Bias: true));
                    blocks.Add(new LinearSpec("Decoder", "cls.predictions.decoder", hidden, vocab, Bias: true)
                    {
                        TiedTo = tied ? "WordEmbeddings" : null,
                        Head = HeadKind.LanguageModel,
                    });
                    break;
            }
            if (architecture == "BertModel")
            {
                // A bare BertModel's keys have no "bert." prefix.
                for (var i = 0; i < blocks.Count; i++)
                    blocks[i] = blocks[i] with { StateName = blocks[i].StateName.Replace("bert.", "", System.StringComparison.Ordinal) };
            }
            var root = Layer(architecture, isModel: true, HuggingFaceConfig.Precision(json), blocks.ToArray());
            return new ModelSpec(root, EquatableArray.Create(layer));
        }

        // hidden_act as Hugging Face's ACT2FN names it: "gelu" is the exact erf GELU, "gelu_new" and its aliases the tanh form.
        private static FeedForwardActivation Activation(ConfigJson json) => (json.String("hidden_act") ?? "gelu") switch
        {
            "gelu" => FeedForwardActivation.GeluErf,
            "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => FeedForwardActivation.Gelu,
            "relu" => FeedForwardActivation.Relu,
            "silu" or "swish" => FeedForwardActivation.Silu,
            var other => throw new ToolException($"{json.Path}: hidden_act \"{other}\" is not an activation ModelGen has (gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, silu)."),
        };

        // Classifier outputs: num_labels when the config says it, else the size of id2label, else Hugging Face's default of 2.
        private static Dim Labels(ConfigJson json) =>
            json.Long("num_labels") is { } labels ? Size("num_labels", json.Size("num_labels"))
            : json.EntryCount("id2label") is { } count and > 0 ? Size("id2label", count)
            : Size("num_labels", 2);
    }
}
