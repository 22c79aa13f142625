using System;
using System.Globalization;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using TorchSharp;
using ModelGen.Nn;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.MemoryCheck;

/// <summary>
/// A decoder block whose MLP is written as ops in Forward: GELU and SiLU between two Linear blocks, a scaled residual.
/// Before the Forward-body analysis the memory model could not see either activation (docs/forward-analysis.md).
/// </summary>
[Layer(typeof(ProbeConfig))]
public partial class ForwardOpsBlock
{
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial LayerNorm Ln1 { get; }
    [Attention(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Heads), Fused = false, Bias = true)] public partial Attention Attn { get; }
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial LayerNorm Ln2 { get; }
    [Linear(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Ffn))] public partial Linear Up { get; }
    [Linear(nameof(ProbeConfig.Ffn), nameof(ProbeConfig.Hidden))] public partial Linear Down { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + (Attn.call(Ln1.call(x)) * 0.5);
        var h = nn.functional.gelu(Up.call(Ln2.call(x)));
        return x + Down.call(nn.functional.silu(h));
    }
}

/// <summary>Embedding, a concatenation with its own GELU merged back by a Linear, the blocks above, final norm, head.</summary>
[Model(typeof(ProbeConfig))]
public partial class ForwardOpsProbe
{
    [Embedding(nameof(ProbeConfig.Vocab), nameof(ProbeConfig.Hidden))] public partial Embedding Embed { get; }
    [Linear(1024, nameof(ProbeConfig.Hidden))] public partial Linear Merge { get; }
    [Stack(nameof(ProbeConfig.Layers))] public partial ModuleList<ForwardOpsBlock> Blocks { get; }
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial LayerNorm Norm { get; }
    [Linear(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Vocab), Bias = false)] public partial Linear Head { get; }

    private Tensor Forward(Tensor tokens)
    {
        var e = Embed.call(tokens);
        var x = Merge.call(cat(new[] { e, nn.functional.gelu(e) }, -1));
        foreach (var block in Blocks)
            x = block.call(x);
        return Head.call(Norm.call(x));
    }
}

/// <summary>
/// `ModelGen.MemoryCheck forward-ops`: the training step of <see cref="ForwardOpsProbe"/> on the CPU (fp32, ModelGen's AdamW),
/// peak resident set above the baseline against the memory model, which walks the analyzed Forward bodies the generated
/// <c>DescribeModel</c> carries. Also prints the estimate the model would give without them (the declared blocks only).
/// </summary>
internal static class ForwardOpsCheck
{
    public static void Run(int seq, int batch, int steps)
    {
        const double MiB = 1 << 20;
        var config = new ProbeConfig();
        var spec = ForwardOpsProbe.DescribeModel(config);
        var scenario = new ScenarioSpec(0, Workload.Training, seq, batch, Optimizer.AdamW);
        var estimate = MemoryModel.Estimate(spec, scenario, DeviceProfile.Cpu);
        var blind = MemoryModel.Estimate(new ModelSpec(spec.Root with { Body = null }, spec.Layers.Select(l => l with { Body = null }).ToEquatableArray()), scenario, DeviceProfile.Cpu);

        var measured = CheckRow.PeakAbove(() => Train(config, batch, seq, 1), () => Train(config, batch, seq, steps));

        Console.WriteLine(CheckRow.Format("forward-ops", estimate, measured, decimals: 0));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"without the Forward bodies (declared blocks only): {blind.PeakBytes / MiB:F0} MiB, measured / predicted {(double)measured / blind.PeakBytes:F3}"));
    }

    private static void Train(ProbeConfig config, int batch, int seq, int steps)
    {
        using var model = new ForwardOpsProbe(config);
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
