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

/// <summary>Sizes of the mixture-of-experts probe: the decoder probes' vocabulary, a narrower width, 8 SwiGLU experts, top-2.</summary>
public sealed record MoeProbeConfig
{
    /// <summary>Vocabulary size.</summary>
    public int Vocab { get; init; } = 4096;

    /// <summary>Model width.</summary>
    public int Hidden { get; init; } = 256;

    /// <summary>Attention heads.</summary>
    public int Heads { get; init; } = 4;

    /// <summary>Inner width of each expert.</summary>
    public int Ffn { get; init; } = 1024;

    /// <summary>Experts per layer.</summary>
    public int Experts { get; init; } = 8;

    /// <summary>Experts per token.</summary>
    public int TopK { get; init; } = 2;

    /// <summary>Decoder layers.</summary>
    public int Layers { get; init; } = 4;
}

/// <summary>A Mixtral layer: RMSNorm, fused causal rotary attention, RMSNorm, top-2 of 8 SwiGLU experts (dropless).</summary>
[Layer(typeof(MoeProbeConfig))]
public partial class MoeProbeLayer
{
    [RmsNorm(nameof(MoeProbeConfig.Hidden))] public partial RmsNorm AttnNorm { get; }
    [Attention(nameof(MoeProbeConfig.Hidden), nameof(MoeProbeConfig.Heads), Rotary = true)] public partial Attention Attn { get; }
    [RmsNorm(nameof(MoeProbeConfig.Hidden))] public partial RmsNorm MoeNorm { get; }
    [MixtureOfExperts(nameof(MoeProbeConfig.Hidden), nameof(MoeProbeConfig.Ffn), nameof(MoeProbeConfig.Experts), TopK = nameof(MoeProbeConfig.TopK))]
    public partial MixtureOfExperts Moe { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(AttnNorm.call(x));
        return x + Moe.call(MoeNorm.call(x));
    }
}

/// <summary>A small Mixtral: token table, four MoE layers, final norm, LM head.</summary>
[Model(typeof(MoeProbeConfig))]
public partial class MoeProbe
{
    [Embedding(nameof(MoeProbeConfig.Vocab), nameof(MoeProbeConfig.Hidden))] public partial Embedding Embed { get; }
    [Stack(nameof(MoeProbeConfig.Layers))] public partial ModuleList<MoeProbeLayer> Blocks { get; }
    [RmsNorm(nameof(MoeProbeConfig.Hidden))] public partial RmsNorm Norm { get; }
    [Linear(nameof(MoeProbeConfig.Hidden), nameof(MoeProbeConfig.Vocab), Bias = false)] public partial Linear Head { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = Embed.call(tokens);
        foreach (var block in Blocks)
            x = block.call(x);
        return Head.call(Norm.call(x));
    }
}

/// <summary>
/// `ModelGen.MemoryCheck moe`: next-token training steps of <see cref="MoeProbe"/> on the CPU (fp32, ModelGen's AdamW, Mixtral's
/// 0.02 · load-balancing loss), peak resident set above the baseline against the memory model (docs/memory-check.md, docs/moe.md).
/// </summary>
internal static class MoeCheck
{
    /// <summary>The mode's name on the command line.</summary>
    public const string Mode = "moe";

    public static void Run(int seq, int batch, int steps, bool trace)
    {
        var config = new MoeProbeConfig();
        var estimate = MemoryModel.Estimate(MoeProbe.DescribeModel(config),
            new ScenarioSpec(0, Workload.Training, seq, batch, Optimizer.AdamW), DeviceProfile.Cpu);

        var routed = "";
        var measured = CheckRow.PeakAbove(() => Train(config, batch, seq, 1, false), () => routed = Train(config, batch, seq, steps, trace));

        Console.WriteLine(CheckRow.Format(Mode, estimate, measured));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rows per expert in the last step's first layer: {routed}"));
    }

    /// <summary>Runs the steps; returns how the last step's first layer spread its routed rows over the experts (for the record).</summary>
    private static string Train(MoeProbeConfig config, int batch, int seq, int steps, bool trace)
    {
        using var model = new MoeProbe(config);
        manual_seed(0);
        using var optimizer = new Optimizers.AdamW(model.parameters(), learningRate: 1e-4);
        var origin = ResidentMemory.Current;
        var spread = "";
        void Mark(string what)
        {
            if (trace)
                CheckRow.Trace(what, origin);
        }
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var tokens = randint(0, config.Vocab, new long[] { batch, seq + 1 });
            var logits = model.call(tokens[.., ..seq]);
            Mark($"step {step} forward");
            var loss = Precision.CrossEntropyFp32(logits.reshape(-1, config.Vocab), tokens[.., 1..].reshape(-1));
            var balance = model.Blocks.Cast<MoeProbeLayer>().Select(b => b.Moe.LoadBalancingLoss!).Aggregate((a, b) => a + b);
            (loss + (0.02 * balance)).backward();
            Mark("backward");
            optimizer.Step();
            Mark("optimizer step");
            using (no_grad())
            {
                var first = model.Blocks.Cast<MoeProbeLayer>().First();
                var chosen = first.Moe.gate.call(first.MoeNorm.call(model.Embed.call(tokens[.., ..seq]))).topk(config.TopK, dim: -1).indexes;
                spread = string.Join(" ", chosen.reshape(-1).bincount(null, config.Experts).data<long>().ToArray());
            }
        }
        return spread;
    }
}
