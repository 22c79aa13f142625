using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using ModelGen;
using ModelGen.Memory;
using ModelGen.MemoryCheck;
using ModelGen.Specs;
using TorchSharp;
using static TorchSharp.torch;

// Peak CPU memory of real TorchSharp training steps against the memory model's prediction for the CPU device.
// Each configuration runs in its own process, so one run's allocator state cannot flatter the next. See docs/memory-check.md.
//   ModelGen.MemoryCheck [all]                      all configurations, a Markdown table
//   ModelGen.MemoryCheck plain|checkpointed|quantized|lora|qlora [trace]   one configuration; trace prints the resident set after each stage
//   mpirun -np 2 ModelGen.MemoryCheck zero1-dp2|zero2-dp2   data parallel with ModelGen's AdamW partitioned (ZeRO 1 or 2), one row per rank
//   ModelGen.MemoryCheck attention-saved            bytes one eager attention forward saves for backward, fp32 and bf16
//   ModelGen.MemoryCheck step-peak                  resident peak of one optimizer step: TorchSharp's AdamW against ModelGen's
// MEMORYCHECK_DEFAULT_MALLOC=1 keeps glibc's dynamic mmap threshold (see HeapSettings) to show what it adds.
const int Seq = 256, Batch = 8, Steps = 3;
var configurations = new[] { "plain", "checkpointed", "quantized", "lora", "qlora" };
// Data parallel over 2 ranks under mpirun (the plain probe, ModelGen's AdamW with its state partitioned): one row per rank.
var distributed = new[] { "zero1-dp2", "zero2-dp2" }.Concat(TensorParallelCheck.Modes).Concat(ZeroCheck.Modes).Append(TensorParallelQuantizedCheck.Mode).ToArray(); // TensorParallelCheck.cs, ZeroCheck.cs

if (args.Length == 0 || args[0] == "all")
{
    Console.WriteLine($"Training steps on the CPU: seq {Seq}, batch {Batch}, ModelGen's AdamW, fp32, {Steps} steps; peak resident set above the baseline.");
    Console.WriteLine();
    Console.WriteLine("| configuration | predicted (MiB) | measured (MiB) | measured / predicted | peak phase | predicted terms (MiB) |");
    Console.WriteLine("|---|---:|---:|---:|---|---|");
    var worst = 0.0;
    var worstDistributed = 0.0;
    foreach (var name in configurations.Concat(distributed))
    {
        var ranks = distributed.Contains(name) ? 2 : 1;
        // Run as we were run: the apphost directly, or `dotnet <dll>`; data-parallel rows under mpirun over loopback.
        var start = new ProcessStartInfo(ranks > 1 ? "mpirun" : Environment.ProcessPath!) { RedirectStandardOutput = true };
        if (ranks > 1)
        {
            foreach (var option in new[] { "--allow-run-as-root", "--oversubscribe", "--mca", "btl_tcp_if_include", "lo", "-np", "2", Environment.ProcessPath! })
                start.ArgumentList.Add(option);
        }
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
            start.ArgumentList.Add(typeof(ProbeConfig).Assembly.Location);
        start.ArgumentList.Add(name);
        start.Environment["TERM"] = "dumb"; // no terminal control sequences in front of the rows
        using var child = Process.Start(start)!;
        var lines = child.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        child.WaitForExit();
        var rows = lines.Where(l => l.Contains("| " + name, StringComparison.Ordinal))
            .Select(l => l.Substring(l.IndexOf('|', StringComparison.Ordinal))).OrderBy(l => l, StringComparer.Ordinal).ToList();
        if (child.ExitCode != 0 || rows.Count != ranks)
            throw new InvalidOperationException($"the '{name}' run failed (exit {child.ExitCode}): {string.Join(Environment.NewLine, lines)}");
        foreach (var row in rows)
        {
            Console.WriteLine(row);
            var deviation = Math.Abs(double.Parse(row.Split('|')[4], CultureInfo.InvariantCulture) - 1);
            if (ranks > 1) worstDistributed = Math.Max(worstDistributed, deviation);
            else worst = Math.Max(worst, deviation);
        }
    }
    Console.WriteLine();
    Console.WriteLine($"largest deviation: {worst:P1} single process, {worstDistributed:P1} per rank under mpirun");
    return;
}

if (args[0] == "infer-all")
{
    Console.WriteLine($"Prefill + decode through Generate (KV cache) on the CPU: seq {Seq} (prompt + 4 new tokens), batch {Batch}, fp32 (the -bf16 rows: bf16); peak resident set above the baseline.");
    Console.WriteLine();
    Console.WriteLine("| configuration | predicted (MiB) | measured (MiB) | measured / predicted | peak phase | predicted terms (MiB) |");
    Console.WriteLine("|---|---:|---:|---:|---|---|");
    foreach (var name in new[] { "infer-plain", "infer-quantized", "infer-plain-small", "infer-quantized-small", "infer-quantized-bf16", "infer-quantized-bf16-small" })
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
            start.ArgumentList.Add(typeof(ProbeConfig).Assembly.Location);
        start.ArgumentList.Add(name);
        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        var row = output.Split('\n').FirstOrDefault(l => l.StartsWith("| " + name + " ", StringComparison.Ordinal));
        if (child.ExitCode != 0 || row is null)
            throw new InvalidOperationException($"the '{name}' run failed (exit {child.ExitCode}): {output}");
        Console.WriteLine(row);
    }
    return;
}

if (args[0].StartsWith("infer-", StringComparison.Ordinal))
{
    HeapSettings.Apply();
    InferenceCheck.Run(args[0], Seq, Batch, args.Length > 1 && args[1] == "trace");
    return;
}

if (args[0] == "attention-saved") { HeapSettings.Apply(); AttentionSaved.Run(); return; }
if (args[0] == TensorParallelQuantizedCheck.Mode) { TensorParallelQuantizedCheck.Run(Seq, Batch, Steps, args.Length > 1 && args[1] == "trace"); return; } // TensorParallelQuantizedCheck.cs
if (TensorParallelCheck.Modes.Contains(args[0])) { TensorParallelCheck.Run(args[0], Seq, Batch, Steps, args.Length > 1 && args[1] == "trace"); return; }
if (TensorParallelPlanCheck.Modes.Contains(args[0])) { TensorParallelPlanCheck.Run(args[0], Seq, Batch, Steps); return; } // TensorParallelPlanCheck.cs: bf16 masters, gathered logits
if (args[0] == TensorParallelPlanCheck.WholeMode) { TensorParallelPlanCheck.RunWhole(Seq, Batch, Steps); return; } // TensorParallelPlanCheck.cs: the bf16 probe whole
if (args[0] == "forward-ops") { HeapSettings.Apply(); ForwardOpsCheck.Run(Seq, Batch, Steps); return; } // docs/forward-analysis.md
if (args[0] == ForwardLoopCheck.Mode) { HeapSettings.Apply(); ForwardLoopCheck.Run(Seq, Batch, Steps); return; } // docs/forward-analysis.md, Loops
if (args[0] == MixedPrecisionCheck.Mode) { HeapSettings.Apply(); MixedPrecisionCheck.Run(Seq, Batch, Steps); return; } // docs/precision.md
if (args[0] == MixedPrecisionBlocksCheck.Mode) { HeapSettings.Apply(); MixedPrecisionBlocksCheck.Run(Seq, Batch, Steps); return; } // docs/precision.md: Attention + FeedForward
if (args[0] == BertCheck.Mode) { HeapSettings.Apply(); BertCheck.Run(Seq, Batch, Steps); return; } // BertCheck.cs: BERT classifier
if (args[0] == MoeCheck.Mode) { HeapSettings.Apply(); MoeCheck.Run(Seq, Batch, Steps, args.Length > 1 && args[1] == "trace"); return; } // MoeCheck.cs: mixture of experts
if (args[0] == T5Check.Mode) { HeapSettings.Apply(); T5Check.Run(Seq, Batch, Steps); return; } // T5Check.cs: T5-style encoder-decoder

if (args[0] == "step-peak")
{
    HeapSettings.Apply();
    StepPeak.Run(new ProbeConfig(), Batch, Seq);
    return;
}

if (ZeroCheck.TryRun(args[0], Seq, Batch, Steps)) return; // ZeRO-3, offload and DDP rows through PlanTraining (ZeroCheck.cs)
var config = new ProbeConfig();
var pinned = Environment.GetEnvironmentVariable("MEMORYCHECK_DEFAULT_MALLOC") != "1";
if (pinned)
    HeapSettings.Apply();
var trace = args.Length > 1 && args[1] == "trace";
var (probe, zeroStage) = args[0] switch
{
    "zero1-dp2" => ("plain", 1),
    "zero2-dp2" => ("plain", 2),
    _ => (args[0], 0),
};
var world = zeroStage > 0 ? ModelGen.Distributed.World.Initialize() : ModelGen.Distributed.SingleProcessGroup.Instance;
var settings = new ModelGen.Optimizers.OptimizerSettings { DataParallel = world, ZeroStage = zeroStage };
var spec = probe switch
{
    "plain" => PlainProbe.DescribeModel(config),
    "checkpointed" => CheckpointedProbe.DescribeModel(config),
    "quantized" => QuantizedProbe.DescribeModel(config),
    "lora" => LoraProbe.DescribeModel(config),
    "qlora" => QloraProbe.DescribeModel(config),
    _ => throw new ArgumentException($"unknown configuration '{args[0]}'; expected one of: all, {string.Join(", ", configurations)}"),
};
var estimate = MemoryModel.Estimate(spec,
    new ScenarioSpec(0, Workload.Training, Seq, Batch, Optimizer.AdamW) { DataParallel = world.Size, ZeroStage = zeroStage }, DeviceProfile.Cpu);

// Warm up with one full-size step of a throwaway instance, then free it, so the baseline includes what libtorch and its BLAS
// keep for the process once they have run these shapes (thread pools, kernels, GEMM packing buffers: about 15 MiB here,
// allocated on the first full-size step and never returned), but no tensor of the measured model.
Step(CreateModel(probe, config), config.Vocab, Batch, Seq, false, settings);
GC.Collect();
GC.WaitForPendingFinalizers();
var baseline = ResidentMemory.Current;
ResidentMemory.ResetPeak();

Step(CreateModel(probe, config), config.Vocab, Batch, Seq, trace, settings);
var measured = ResidentMemory.Peak - baseline;

const double MiB = 1 << 20;
var terms = string.Join(", ", estimate.Terms.Where(t => t.Bytes > 0).Select(t => $"{t.Name} {t.Bytes / MiB:F0}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"| {args[0]}{(world.Size > 1 ? $" rank {world.Rank}" : "")} | {estimate.PeakBytes / MiB:F0} | {measured / MiB:F0} | {(double)measured / estimate.PeakBytes:F3} | {estimate.PeakPhase} | {terms} |"));

static nn.Module<Tensor, Tensor> CreateModel(string name, ProbeConfig config) => name switch
{
    "plain" => new PlainProbe(config),
    "checkpointed" => new CheckpointedProbe(config),
    "lora" => new LoraProbe(config),
    "qlora" => new QloraProbe(config),
    _ => new QuantizedProbe(config),
};

// Steps of next-token training; everything but the model and the optimizer state is freed at the end of each step.
static void Step(nn.Module<Tensor, Tensor> model, int vocab, int batch, int seq, bool trace, ModelGen.Optimizers.OptimizerSettings settings)
{
    var origin = ResidentMemory.Current;
    void Mark(string what)
    {
        if (trace)
            CheckRow.Trace(what, origin);
    }
    Mark("model");
    torch.manual_seed(0);
    // ModelGen's optimizer, as generated training code uses it: gradients are freed when each step ends (set to none).
    // Frozen parameters (a LoRA base) get no state: only what trains goes to the optimizer, as the memory model counts it.
    var optimizer = new ModelGen.Optimizers.AdamW(model.parameters().Where(p => p.requires_grad), learningRate: 1e-4, settings: settings);
    Mark("optimizer");
    for (var step = 0; step < Steps; step++)
    {
        using (var scope = torch.NewDisposeScope())
        {
            var tokens = torch.randint(0, vocab, new long[] { batch, seq + 1 });
            Mark($"step {step} start");
            var logits = model.call(tokens[.., ..seq]);
            Mark("forward");
            var loss = Precision.CrossEntropyFp32(logits.reshape(-1, vocab), tokens[.., 1..].reshape(-1));
            Mark("loss");
            loss.backward();
            Mark("backward");
            optimizer.Step();
            Mark("optimizer step");
        }
        Mark("scope end");
    }
    optimizer.Dispose();
    model.Dispose();
}
