using System;
using System.Globalization;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.MemoryCheck;

/// <summary>
/// A model whose Forward applies one pre-norm GELU MLP (shared weights) in a loop bounded by a config member, as a weight-shared
/// (universal-transformer style) stack: the loop's trip count multiplies what the body saves (docs/forward-analysis.md, Loops).
/// </summary>
[Model(typeof(ProbeConfig))]
public partial class ForwardLoopProbe
{
    private readonly ProbeConfig _cfg = new();

    [Embedding(nameof(ProbeConfig.Vocab), nameof(ProbeConfig.Hidden))] public partial Embedding Embed { get; }
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial LayerNorm Norm { get; }
    [Linear(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Ffn))] public partial Linear Up { get; }
    [Linear(nameof(ProbeConfig.Ffn), nameof(ProbeConfig.Hidden))] public partial Linear Down { get; }
    [Linear(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Vocab), Bias = false)] public partial Linear Head { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = Embed.call(tokens);
        for (var i = 0; i < _cfg.Layers; i++)
            x = x + Down.call(nn.functional.gelu(Up.call(Norm.call(x))));
        return Head.call(x);
    }
}

/// <summary>
/// `ModelGen.MemoryCheck forward-loop`: the training step of <see cref="ForwardLoopProbe"/> on the CPU (fp32, ModelGen's AdamW),
/// peak resident set above the baseline against the memory model; also prints the estimate with the loop counted once.
/// </summary>
internal static class ForwardLoopCheck
{
    public const string Mode = "forward-loop";

    public static void Run(int seq, int batch, int steps)
    {
        const double MiB = 1 << 20;
        var config = new ProbeConfig();
        var spec = ForwardLoopProbe.DescribeModel(config);
        var scenario = new ScenarioSpec(0, Workload.Training, seq, batch, Optimizer.AdamW);
        var estimate = MemoryModel.Estimate(spec, scenario, DeviceProfile.Cpu);
        var once = spec.Root.Body!.Calls.Select(c => c.Op is { } op ? c with { Op = op with { Repeats = EquatableArray<Dim>.Empty } } : c with { Repeats = EquatableArray<Dim>.Empty });
        var onceEstimate = MemoryModel.Estimate(spec with { Root = spec.Root with { Body = new ForwardBody(once.ToEquatableArray()) } }, scenario, DeviceProfile.Cpu);

        var measured = CheckRow.PeakAbove(() => Train(config, batch, seq, 1), () => Train(config, batch, seq, steps));

        Console.WriteLine(CheckRow.Format(Mode, estimate, measured));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"with the loop counted once: {onceEstimate.PeakBytes / MiB:F1} MiB, measured / predicted {(double)measured / onceEstimate.PeakBytes:F3}"));
    }

    private static void Train(ProbeConfig config, int batch, int seq, int steps)
    {
        using var model = new ForwardLoopProbe(config);
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
