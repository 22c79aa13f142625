using System;
using System.Globalization;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.MemoryCheck;

/// <summary>
/// The resident peak of the optimizer step alone, above the resident set just before it (gradients and optimizer state already
/// allocated): TorchSharp 0.107's <c>torch.optim.AdamW</c>, whose step keeps two parameter-sized temporaries of every parameter
/// until it ends, against ModelGen's <c>AdamW</c>, which frees one parameter's temporaries before the next. Plain probe, fp32.
/// </summary>
internal static class StepPeak
{
    public static void Run(ProbeConfig config, int batch, int seq)
    {
        const double MiB = 1 << 20;
        var spec = PlainProbe.DescribeModel(config);
        var estimate = MemoryModel.Estimate(spec, new ScenarioSpec(0, Workload.Training, seq, batch, Optimizer.AdamW), DeviceProfile.Cpu);
        var torchPeak = Measure(config, batch, seq, modelGen: false, out var parameters);
        var modelGenPeak = Measure(config, batch, seq, modelGen: true, out _);
        var largest = new PlainProbe(config).parameters().Max(p => p.numel());
        Console.WriteLine($"Optimizer step of the plain probe ({parameters:N0} fp32 parameters, largest tensor {largest:N0}); resident peak above the step's start:");
        Console.WriteLine();
        Console.WriteLine("| optimizer | step peak (MiB) | bytes per parameter | expected |");
        Console.WriteLine("|---|---:|---:|---|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| TorchSharp `torch.optim.AdamW` | {torchPeak / MiB:F1} | {(double)torchPeak / parameters:F2} | 2 temporaries × 4 B × every parameter = {8.0 * parameters / MiB:F1} MiB |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| ModelGen `Optimizers.AdamW` | {modelGenPeak / MiB:F1} | {(double)modelGenPeak / parameters:F2} | one fp32 denominator of the largest tensor = {4.0 * largest / MiB:F1} MiB |"));
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"memory model, optimizer-step transients (ModelGen, with the logits the loop holds): {estimate.Phases.Single(p => p.Phase == MemoryPhases.OptimizerStep).Terms.Single(t => t.Name == MemoryTerms.Transients).Bytes / MiB:F1} MiB"));
    }

    /// <summary>One warm-up step, then a measured step: peak resident bytes during <c>step</c> above the resident set before it.</summary>
    private static long Measure(ProbeConfig config, int batch, int seq, bool modelGen, out long parameters)
    {
        using var model = new PlainProbe(config);
        parameters = model.parameters().Sum(p => p.numel());
        manual_seed(0);
        var torchOptimizer = modelGen ? null : optim.AdamW(model.parameters(), lr: 1e-4);
        using var modelGenOptimizer = modelGen ? new Optimizers.AdamW(model.parameters(), learningRate: 1e-4) : null;
        var peak = 0L;
        for (var step = 0; step < 2; step++)
        {
            using var scope = NewDisposeScope();
            var tokens = randint(0, config.Vocab, new long[] { batch, seq + 1 });
            torchOptimizer?.zero_grad();
            var logits = model.call(tokens[.., ..seq]);
            Precision.CrossEntropyFp32(logits.reshape(-1, config.Vocab), tokens[.., 1..].reshape(-1)).backward();
            logits.Dispose();
            GC.Collect();
            var before = ResidentMemory.Current;
            ResidentMemory.ResetPeak();
            if (modelGenOptimizer is null)
                torchOptimizer!.step();
            else
                modelGenOptimizer.Step();
            peak = ResidentMemory.Peak - before;
        }
        torchOptimizer?.Dispose();
        return peak;
    }
}
