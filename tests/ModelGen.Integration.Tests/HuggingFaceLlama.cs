using LlamaSample;
using ModelGen;
using ModelGen.Nn;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

/// <summary>
/// Llama with Hugging Face's own state_dict names (<c>model.embed_tokens</c>, <c>model.layers.{i}.self_attn.q_proj</c>,
/// <c>model.layers.{i}.input_layernorm</c>, <c>lm_head</c>, …) and fp32 storage: a Hugging Face checkpoint loads into it with
/// the identity mapping. Rotary base and norm epsilon are those of tests/python/reference_models.py.
/// </summary>
[Model(typeof(LlamaConfig))]
public partial class HuggingFaceLlama
{
    [Sublayer, StateName("model")] public partial HuggingFaceLlamaBody Model { get; }
    [Linear(nameof(LlamaConfig.Hidden), nameof(LlamaConfig.Vocab), Bias = false), StateName("lm_head")] public partial Linear LmHead { get; }

    private Tensor Forward(Tensor tokens) => LmHead.call(Model.call(tokens));
}

/// <summary>The decoder without its head: Hugging Face's <c>LlamaModel</c>.</summary>
[Layer(typeof(LlamaConfig))]
public partial class HuggingFaceLlamaBody
{
    [Embedding(nameof(LlamaConfig.Vocab), nameof(LlamaConfig.Hidden)), StateName("embed_tokens")] public partial Embedding EmbedTokens { get; }
    [Stack(nameof(LlamaConfig.Layers)), StateName("layers")] public partial ModuleList<HuggingFaceLlamaLayer> Layers { get; }
    [RmsNorm(nameof(LlamaConfig.Hidden))] public partial RmsNorm Norm { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = EmbedTokens.call(tokens);
        foreach (var layer in Layers)
            x = layer.call(x);
        return Norm.call(x);
    }
}

/// <summary>One decoder layer under Hugging Face's names.</summary>
[Layer(typeof(LlamaConfig))]
public partial class HuggingFaceLlamaLayer
{
    [RmsNorm(nameof(LlamaConfig.Hidden)), StateName("input_layernorm")] public partial RmsNorm InputLayernorm { get; }
    [Attention(nameof(LlamaConfig.Hidden), nameof(LlamaConfig.Heads), KvHeads = nameof(LlamaConfig.KvHeads), Rotary = true, RopeTheta = 500000), StateName("self_attn")]
    public partial Attention SelfAttn { get; }
    [RmsNorm(nameof(LlamaConfig.Hidden)), StateName("post_attention_layernorm")] public partial RmsNorm PostAttentionLayernorm { get; }
    [FeedForward(nameof(LlamaConfig.Hidden), nameof(LlamaConfig.Ffn), Activation = FeedForwardActivation.SwiGlu, Bias = false)]
    public partial FeedForward Mlp { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + SelfAttn.call(InputLayernorm.call(x));
        return x + Mlp.call(PostAttentionLayernorm.call(x));
    }
}
