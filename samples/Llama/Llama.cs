using ModelGen;
using ModelGen.Nn;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaSample;

/// <summary>
/// A Llama-3-style decoder. Training at 8192 tokens on a 24 GB card does not fit (MG0001 at build time, with the breakdown);
/// inference at 8192 tokens does.
/// </summary>
[Model(typeof(LlamaConfig))]
[Precision(DType.BFloat16)]
[VramBudget(24, SequenceLength = 8192, Batch = 1, Workload = Workload.Training, Optimizer = Optimizer.AdamW)]
[VramBudget(24, SequenceLength = 8192, Batch = 1, Workload = Workload.Inference)]
public partial class Llama
{
    [Embedding(nameof(LlamaConfig.Vocab), nameof(LlamaConfig.Hidden))] public partial Embedding Embed { get; }
    [Stack(nameof(LlamaConfig.Layers))] public partial ModuleList<DecoderBlock> Blocks { get; }
    [RmsNorm(nameof(LlamaConfig.Hidden))] public partial RmsNorm Norm { get; }
    [Linear(nameof(LlamaConfig.Hidden), nameof(LlamaConfig.Vocab), Bias = false)] public partial Linear Head { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = Embed.call(tokens);
        foreach (var block in Blocks)
            x = block.call(x);
        return Head.call(Norm.call(x));
    }
}

/// <summary>One decoder layer: pre-norm grouped-query attention with rotary positions, then a SwiGLU MLP. Checkpointed.</summary>
[Layer(typeof(LlamaConfig)), Checkpoint]
public partial class DecoderBlock
{
    [RmsNorm(nameof(LlamaConfig.Hidden))] public partial RmsNorm AttnNorm { get; }
    [Attention(nameof(LlamaConfig.Hidden), nameof(LlamaConfig.Heads), KvHeads = nameof(LlamaConfig.KvHeads), Rotary = true, RopeTheta = 500000)]
    public partial Attention Attn { get; }
    [RmsNorm(nameof(LlamaConfig.Hidden))] public partial RmsNorm MlpNorm { get; }
    [FeedForward(nameof(LlamaConfig.Hidden), nameof(LlamaConfig.Ffn), Activation = FeedForwardActivation.SwiGlu, Bias = false)]
    public partial FeedForward Mlp { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(AttnNorm.call(x));
        return x + Mlp.call(MlpNorm.call(x));
    }
}
