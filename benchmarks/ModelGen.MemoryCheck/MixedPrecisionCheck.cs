using System;
using System.Globalization;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.MemoryCheck;

/// <summary>A pre-norm GELU MLP block under bf16 mixed precision: fp32 parameters and norm, bf16 matrix products (docs/precision.md).</summary>
[Layer(typeof(ProbeConfig)), Precision(DType.Float32, Compute = DType.BFloat16)]
public partial class MixedPrecisionBlock
{
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial LayerNorm Norm { get; }
    [Linear(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Ffn))] public partial AutocastLinear Up { get; }
    [Linear(nameof(ProbeConfig.Ffn), nameof(ProbeConfig.Hidden))] public partial AutocastLinear Down { get; }

    private Tensor Forward(Tensor x) => x + Down.call(nn.functional.gelu(Up.call(Norm.call(x))));
}

/// <summary>Embedding, a stack of <see cref="MixedPrecisionBlock"/>, final norm, a bf16 LM head; cross-entropy in fp32.</summary>
[Model(typeof(ProbeConfig)), Precision(DType.Float32, Compute = DType.BFloat16)]
public partial class MixedPrecisionProbe
{
    [Embedding(nameof(ProbeConfig.Vocab), nameof(ProbeConfig.Hidden))] public partial Embedding Embed { get; }
    [Stack(nameof(ProbeConfig.Layers))] public partial ModuleList<MixedPrecisionBlock> Blocks { get; }
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
/// `ModelGen.MemoryCheck mixed-precision`: the training step of <see cref="MixedPrecisionProbe"/> on the CPU (ModelGen's AdamW on
/// the fp32 parameters), peak resident set above the baseline against the memory model. Also prints what the model predicts for
/// the same network computing in fp32, so the row shows the activation bytes follow the dtype saved.
/// </summary>
internal static class MixedPrecisionCheck
{
    public const string Mode = "mixed-precision";

    public static void Run(int seq, int batch, int steps)
    {
        const double MiB = 1 << 20;
        var config = new ProbeConfig();
        var spec = MixedPrecisionProbe.DescribeModel(config);
        var scenario = new ScenarioSpec(0, Workload.Training, seq, batch, Optimizer.AdamW);
        var estimate = MemoryModel.Estimate(spec, scenario, DeviceProfile.Cpu);
        var fp32 = MemoryModel.Estimate(new ModelSpec(spec.Root with { Compute = null }, spec.Layers.Select(l => l with { Compute = null }).ToEquatableArray()), scenario, DeviceProfile.Cpu);

        var measured = CheckRow.PeakAbove(() => Train(config, batch, seq, 1), () => Train(config, batch, seq, steps));

        Console.WriteLine(CheckRow.Format(Mode, estimate, measured));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"the same network computing in fp32 would be predicted at {fp32.PeakBytes / MiB:F1} MiB (activations {fp32.Terms.Single(t => t.Name == MemoryTerms.Activations).Bytes / MiB:F1} MiB)"));
    }

    private static void Train(ProbeConfig config, int batch, int seq, int steps)
    {
        using var model = new MixedPrecisionProbe(config);
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
