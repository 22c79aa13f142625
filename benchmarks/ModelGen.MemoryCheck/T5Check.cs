using System;
using System.Globalization;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Nn;
using ModelGen.Specs;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.MemoryCheck;

/// <summary>Sizes of the T5 probe: the decoder probes' width, 2 encoder and 2 decoder layers, T5's 32 buckets up to 128.</summary>
public sealed record T5ProbeConfig
{
    /// <summary>Vocabulary size.</summary>
    public int Vocab { get; init; } = 4096;

    /// <summary>Model width.</summary>
    public int Hidden { get; init; } = 512;

    /// <summary>Attention heads.</summary>
    public int Heads { get; init; } = 8;

    /// <summary>Feed-forward inner width.</summary>
    public int Ffn { get; init; } = 2048;

    /// <summary>Layers of each stack.</summary>
    public int Layers { get; init; } = 2;
}

/// <summary>A T5 encoder layer: RMSNorm, unscaled two-sided relative-bias attention, RMSNorm, ReLU feed-forward.</summary>
[Layer(typeof(T5ProbeConfig))]
public partial class T5ProbeEncoderLayer
{
    [RmsNorm(nameof(T5ProbeConfig.Hidden))] public partial RmsNorm AttnNorm { get; }
    [RelativeAttention(nameof(T5ProbeConfig.Hidden), nameof(T5ProbeConfig.Heads))] public partial RelativeAttention Attn { get; }
    [RmsNorm(nameof(T5ProbeConfig.Hidden))] public partial RmsNorm MlpNorm { get; }
    [FeedForward(nameof(T5ProbeConfig.Hidden), nameof(T5ProbeConfig.Ffn), Activation = FeedForwardActivation.Relu, Bias = false)] public partial FeedForward Mlp { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(AttnNorm.call(x));
        return x + Mlp.call(MlpNorm.call(x));
    }
}

/// <summary>A T5 decoder layer: causal one-sided relative-bias self-attention, unscaled fused cross-attention, ReLU feed-forward.</summary>
[Layer(typeof(T5ProbeConfig))]
public partial class T5ProbeDecoderLayer
{
    [RmsNorm(nameof(T5ProbeConfig.Hidden))] public partial RmsNorm SelfNorm { get; }
    [RelativeAttention(nameof(T5ProbeConfig.Hidden), nameof(T5ProbeConfig.Heads), Causal = true)] public partial RelativeAttention SelfAttn { get; }
    [RmsNorm(nameof(T5ProbeConfig.Hidden))] public partial RmsNorm CrossNorm { get; }
    [CrossAttention(nameof(T5ProbeConfig.Hidden), nameof(T5ProbeConfig.Heads), Scaled = false)] public partial CrossAttention Cross { get; }
    [RmsNorm(nameof(T5ProbeConfig.Hidden))] public partial RmsNorm MlpNorm { get; }
    [FeedForward(nameof(T5ProbeConfig.Hidden), nameof(T5ProbeConfig.Ffn), Activation = FeedForwardActivation.Relu, Bias = false)] public partial FeedForward Mlp { get; }

    private Tensor Forward(Tensor x, [Input(InputShape.Hidden, Width = nameof(T5ProbeConfig.Hidden))] Tensor memory)
    {
        x = x + SelfAttn.call(SelfNorm.call(x));
        x = x + Cross.call(CrossNorm.call(x), memory);
        return x + Mlp.call(MlpNorm.call(x));
    }
}

/// <summary>A T5-style encoder–decoder: shared embedding, encoder stack and norm, decoder stack reading the encoder output, LM head.</summary>
[Model(typeof(T5ProbeConfig))]
public partial class T5Probe
{
    [Embedding(nameof(T5ProbeConfig.Vocab), nameof(T5ProbeConfig.Hidden))] public partial Embedding Shared { get; }
    [Stack(nameof(T5ProbeConfig.Layers))] public partial ModuleList<T5ProbeEncoderLayer> Encoder { get; }
    [RmsNorm(nameof(T5ProbeConfig.Hidden))] public partial RmsNorm EncoderNorm { get; }
    [Stack(nameof(T5ProbeConfig.Layers))] public partial ModuleList<T5ProbeDecoderLayer> Decoder { get; }
    [RmsNorm(nameof(T5ProbeConfig.Hidden))] public partial RmsNorm DecoderNorm { get; }
    [Linear(nameof(T5ProbeConfig.Hidden), nameof(T5ProbeConfig.Vocab), Bias = false), Head(HeadKind.LanguageModel)] public partial Linear LmHead { get; }

    private Tensor Forward(Tensor source, [Input(InputShape.Tokens)] Tensor target)
    {
        var memory = Shared.call(source);
        foreach (var layer in Encoder)
            memory = layer.call(memory);
        memory = EncoderNorm.call(memory);
        var x = Shared.call(target);
        foreach (var layer in Decoder)
            x = layer.call(x, memory);
        return LmHead.call(DecoderNorm.call(x));
    }
}

/// <summary>
/// `ModelGen.MemoryCheck t5`: training steps of <see cref="T5Probe"/> on the CPU (fp32, ModelGen's AdamW, source and target both
/// <c>seq</c> tokens, next-token cross-entropy on the target), peak resident set above the baseline against the memory model
/// (docs/memory-check.md, docs/encoder-decoder.md).
/// </summary>
internal static class T5Check
{
    /// <summary>The mode's name on the command line.</summary>
    public const string Mode = "t5";

    public static void Run(int seq, int batch, int steps)
    {
        var config = new T5ProbeConfig();
        var estimate = MemoryModel.Estimate(T5Probe.DescribeModel(config),
            new ScenarioSpec(0, Workload.Training, seq, batch, Optimizer.AdamW), DeviceProfile.Cpu);

        var measured = CheckRow.PeakAbove(() => Train(config, batch, seq, 1), () => Train(config, batch, seq, steps));

        Console.WriteLine(CheckRow.Format(Mode, estimate, measured));
    }

    private static void Train(T5ProbeConfig config, int batch, int seq, int steps)
    {
        using var model = new T5Probe(config);
        manual_seed(0);
        using var optimizer = new Optimizers.AdamW(model.parameters(), learningRate: 1e-4);
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var source = randint(0, config.Vocab, new long[] { batch, seq });
            var target = randint(0, config.Vocab, new long[] { batch, seq });
            var logits = model.call(source, target);
            Precision.CrossEntropyFp32(logits.reshape(-1, config.Vocab), target.roll(-1, 1).reshape(-1)).backward();
            optimizer.Step();
        }
    }
}
