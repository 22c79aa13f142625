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

/// <summary>Sizes of the BERT probe: the decoder probes' width and depth, a 512-row position table, three classes.</summary>
public sealed record BertProbeConfig
{
    /// <summary>Vocabulary size.</summary>
    public int Vocab { get; init; } = 4096;

    /// <summary>Model width.</summary>
    public int Hidden { get; init; } = 512;

    /// <summary>Attention heads.</summary>
    public int Heads { get; init; } = 8;

    /// <summary>Feed-forward inner width.</summary>
    public int Ffn { get; init; } = 2048;

    /// <summary>Encoder layers.</summary>
    public int Layers { get; init; } = 4;

    /// <summary>Rows of the learned position table (caps the sequence length).</summary>
    public int Positions { get; init; } = 512;

    /// <summary>Classifier outputs.</summary>
    public int Classes { get; init; } = 3;
}

/// <summary>A post-LN BERT encoder layer: bidirectional eager attention with biases, exact-erf GELU, no dropout.</summary>
[Layer(typeof(BertProbeConfig))]
public partial class BertProbeLayer
{
    [Attention(nameof(BertProbeConfig.Hidden), nameof(BertProbeConfig.Heads), Causal = false, Fused = false, Bias = true)] public partial Attention Attn { get; }
    [LayerNorm(nameof(BertProbeConfig.Hidden), Eps = 1e-12)] public partial LayerNorm AttnNorm { get; }
    [FeedForward(nameof(BertProbeConfig.Hidden), nameof(BertProbeConfig.Ffn), Activation = FeedForwardActivation.GeluErf)] public partial FeedForward Mlp { get; }
    [LayerNorm(nameof(BertProbeConfig.Hidden), Eps = 1e-12)] public partial LayerNorm MlpNorm { get; }

    private Tensor Forward(Tensor x)
    {
        x = AttnNorm.call(x + Attn.call(x));
        return MlpNorm.call(x + Mlp.call(x));
    }
}

/// <summary>BERT for sequence classification: word, position and token-type tables, embedding norm, encoder, pooler, classifier head.</summary>
[Model(typeof(BertProbeConfig))]
public partial class BertProbe
{
    [Embedding(nameof(BertProbeConfig.Vocab), nameof(BertProbeConfig.Hidden))] public partial Embedding Words { get; }
    [Embedding(nameof(BertProbeConfig.Positions), nameof(BertProbeConfig.Hidden), Role = EmbeddingRole.Positions)] public partial Embedding Positions { get; }
    [Embedding(2, nameof(BertProbeConfig.Hidden), Role = EmbeddingRole.TokenTypes)] public partial Embedding TokenTypes { get; }
    [LayerNorm(nameof(BertProbeConfig.Hidden), Eps = 1e-12)] public partial LayerNorm EmbedNorm { get; }
    [Stack(nameof(BertProbeConfig.Layers))] public partial ModuleList<BertProbeLayer> Layers { get; }
    [Pooler(nameof(BertProbeConfig.Hidden))] public partial Pooler Pool { get; }
    [Linear(nameof(BertProbeConfig.Hidden), nameof(BertProbeConfig.Classes)), Head(HeadKind.Classifier)] public partial Linear Classifier { get; }

    private Tensor Forward(Tensor tokens)
    {
        var positions = arange(tokens.shape[1], device: tokens.device).unsqueeze(0);
        var x = EmbedNorm.call(Words.call(tokens) + Positions.call(positions) + TokenTypes.call(zeros_like(tokens)));
        foreach (var layer in Layers)
            x = layer.call(x);
        return Classifier.call(Pool.call(x));
    }
}

/// <summary>
/// `ModelGen.MemoryCheck bert-classifier`: training steps of <see cref="BertProbe"/> on the CPU (fp32, ModelGen's AdamW,
/// one label per sequence), peak resident set above the baseline against the memory model (docs/memory-check.md).
/// </summary>
internal static class BertCheck
{
    /// <summary>The mode's name on the command line.</summary>
    public const string Mode = "bert-classifier";

    public static void Run(int seq, int batch, int steps)
    {
        var config = new BertProbeConfig();
        var estimate = MemoryModel.Estimate(BertProbe.DescribeModel(config),
            new ScenarioSpec(0, Workload.Training, seq, batch, Optimizer.AdamW), DeviceProfile.Cpu);

        var measured = CheckRow.PeakAbove(() => Train(config, batch, seq, 1), () => Train(config, batch, seq, steps));

        Console.WriteLine(CheckRow.Format(Mode, estimate, measured));
    }

    private static void Train(BertProbeConfig config, int batch, int seq, int steps)
    {
        using var model = new BertProbe(config);
        manual_seed(0);
        using var optimizer = new Optimizers.AdamW(model.parameters(), learningRate: 1e-4);
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var tokens = randint(0, config.Vocab, new long[] { batch, seq });
            var labels = randint(0, config.Classes, new long[] { batch });
            Precision.CrossEntropyFp32(model.call(tokens), labels).backward();
            optimizer.Step();
        }
    }
}
