using ModelGen;
using ModelGen.Nn;
using ModelGen.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaQLoraSample;

/// <summary>Llama-3-8B's sizes (Meta 2024) by default; <see cref="Tiny"/> for the CPU run.</summary>
public sealed record QLoraConfig
{
    public int Vocab { get; init; } = 128256;
    public int Hidden { get; init; } = 4096;
    public int Layers { get; init; } = 32;
    public int Heads { get; init; } = 32;
    public int KvHeads { get; init; } = 8;
    public int Ffn { get; init; } = 14336;

    /// <summary>A few hundred thousand parameters: NF4's 64-element blocks need rows of a multiple of 64.</summary>
    public static QLoraConfig Tiny => new() { Vocab = 64, Hidden = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 128 };
}

/// <summary>The model: its bf16 base is frozen; the budget below is what MG0002 checks (QLoRA with checkpointed blocks fits 24 GB at seq 2048).</summary>
[Model(typeof(QLoraConfig)), Precision(DType.BFloat16)]
[VramBudget(24, SequenceLength = 2048, Batch = 1, Workload = Workload.Training, Optimizer = Optimizer.AdamW)]
public partial class QLoraLlama
{
    [Embedding(nameof(QLoraConfig.Vocab), nameof(QLoraConfig.Hidden)), StateName("embed_tokens")] partial Embedding Embed { get; }
    [Stack(nameof(QLoraConfig.Layers)), StateName("layers")] partial ModuleList<QLoraBlock> Blocks { get; }
    [RmsNorm(nameof(QLoraConfig.Hidden))] partial RmsNorm Norm { get; }
    [Linear(nameof(QLoraConfig.Hidden), nameof(QLoraConfig.Vocab), Bias = false), StateName("lm_head")] partial Linear Head { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = Embed.call(tokens);
        foreach (var block in Blocks)
            x = block.call(x);
        return Head.call(Norm.call(x));
    }
}

/// <summary>
/// A decoder block: adapters on all seven projections; gate/up/down stored in NF4; activations recomputed in backward, as the
/// QLoRA recipe trains (Dettmers et al. 2023): without [Checkpoint] the SwiGLU written in Forward keeps 14 GB at seq 2048.
/// </summary>
[Layer(typeof(QLoraConfig)), Checkpoint, LoRA(16, "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", Alpha = 32)]
public partial class QLoraBlock
{
    [RmsNorm(nameof(QLoraConfig.Hidden)), StateName("input_layernorm")] partial RmsNorm AttnNorm { get; }
    [Attention(nameof(QLoraConfig.Hidden), nameof(QLoraConfig.Heads), KvHeads = nameof(QLoraConfig.KvHeads), Rotary = true, RopeTheta = 500000), StateName("self_attn")]
    partial Attention Attn { get; }
    [RmsNorm(nameof(QLoraConfig.Hidden)), StateName("post_attention_layernorm")] partial RmsNorm MlpNorm { get; }
    [Linear(nameof(QLoraConfig.Hidden), nameof(QLoraConfig.Ffn), Bias = false), StateName("gate_proj"), Quantize(QuantKind.NF4)] partial QuantizedLinear Gate { get; }
    [Linear(nameof(QLoraConfig.Hidden), nameof(QLoraConfig.Ffn), Bias = false), StateName("up_proj"), Quantize(QuantKind.NF4)] partial QuantizedLinear Up { get; }
    [Linear(nameof(QLoraConfig.Ffn), nameof(QLoraConfig.Hidden), Bias = false), StateName("down_proj"), Quantize(QuantKind.NF4)] partial QuantizedLinear Down { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(AttnNorm.call(x));
        var h = MlpNorm.call(x);
        return x + Down.call(nn.functional.silu(Gate.call(h)) * Up.call(h));
    }
}
