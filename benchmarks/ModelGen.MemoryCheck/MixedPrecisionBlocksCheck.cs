using System;
using ModelGen.Memory;
using ModelGen.Nn;
using ModelGen.Specs;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.MemoryCheck;

/// <summary>A pre-norm transformer block under bf16 mixed precision built from [Attention] (eager: fp32 softmax) and [FeedForward].</summary>
[Layer(typeof(ProbeConfig)), Precision(DType.Float32, Compute = DType.BFloat16)]
public partial class MixedPrecisionTransformerBlock
{
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial LayerNorm Ln1 { get; }
    [Attention(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Heads), Fused = false)] public partial Attention Attn { get; }
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial LayerNorm Ln2 { get; }
    [FeedForward(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Ffn))] public partial FeedForward Mlp { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(Ln1.call(x));
        return x + Mlp.call(Ln2.call(x));
    }
}

/// <summary>Embedding, a stack of <see cref="MixedPrecisionTransformerBlock"/>, final norm, a bf16 LM head; cross-entropy in fp32.</summary>
[Model(typeof(ProbeConfig)), Precision(DType.Float32, Compute = DType.BFloat16)]
public partial class MixedPrecisionTransformerProbe
{
    [Embedding(nameof(ProbeConfig.Vocab), nameof(ProbeConfig.Hidden))] public partial Embedding Embed { get; }
    [Stack(nameof(ProbeConfig.Layers))] public partial ModuleList<MixedPrecisionTransformerBlock> Blocks { get; }
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial LayerNorm Norm { get; }
    [Linear(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Vocab), Bias = false)] public partial AutocastLinear Head { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = Embed.call(tokens);
        foreach (var block in Blocks)
            x = block.call(x);
        return Head.call(Norm.call(x));
    }
}

/// <summary>
/// `ModelGen.MemoryCheck mixed-precision-blocks`: the training step of <see cref="MixedPrecisionTransformerProbe"/> on the CPU
/// (ModelGen's AdamW on the fp32 parameters), peak resident set above the baseline against the memory model (docs/precision.md).
/// </summary>
internal static class MixedPrecisionBlocksCheck
{
    public const string Mode = "mixed-precision-blocks";

    public static void Run(int seq, int batch, int steps)
    {
        var config = new ProbeConfig();
        var spec = MixedPrecisionTransformerProbe.DescribeModel(config);
        var scenario = new ScenarioSpec(0, Workload.Training, seq, batch, Optimizer.AdamW);
        var estimate = MemoryModel.Estimate(spec, scenario, DeviceProfile.Cpu);
        var measured = CheckRow.PeakAbove(() => Train(config, batch, seq, 1), () => Train(config, batch, seq, steps));
        Console.WriteLine(CheckRow.Format(Mode, estimate, measured));
    }

    private static void Train(ProbeConfig config, int batch, int seq, int steps)
    {
        using var model = new MixedPrecisionTransformerProbe(config);
        manual_seed(0);
        using var optimizer = new Optimizers.AdamW(model.parameters(), learningRate: 1e-4);
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var tokens = randint(0, config.Vocab, new long[] { batch, seq + 1 });
            var logits = model.call(tokens[.., ..seq]);
            Precision.CrossEntropyFp32(logits.reshape(-1, config.Vocab), tokens[.., 1..].reshape(-1)).backward();
            optimizer.Step();
        }
    }
}
