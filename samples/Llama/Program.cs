using System;
using System.IO;
using System.Linq;
using LlamaSample;
using ModelGen;
using ModelGen.Distributed;
using ModelGen.Loading;
using ModelGen.Optimizers;
using ModelGen.Tool.Progress;
using TorchSharp;
using static TorchSharp.torch;

// Started with `mpirun -np N`, every rank runs this program and World.Group holds them all; started alone, it is a world of
// one that needs no MPI. Rank 0 does the talking.
var world = World.Group;
var lead = world.Rank == 0;
if (lead)
{
    Console.WriteLine($"ModelGen sample: a Llama-3-style decoder, on {world.Size} rank(s).");
    Console.WriteLine("At build time the analyzers checked Llama-3-8B (the config's defaults) against each [VramBudget]:");
    Console.WriteLine("training at seq 8192 on 24 GB does not fit (warning MG0001 above); inference at seq 8192 does.");
    Console.WriteLine();
    MemoryReport.Print(Llama.DescribeModel(new LlamaConfig()));
}

// The same generated classes, built at a tiny size, train on the CPU.
var config = LlamaConfig.Tiny;
torch.manual_seed(0); // the same seed on every rank: the replicas start equal
using var model = new Llama(config);
var parameters = model.parameters().Sum(p => p.numel());
if (lead)
    Console.WriteLine($"Tiny model: {parameters:N0} parameters in {model.StoragePrecision}, layers checkpointed: {model.Blocks.All(b => b.CheckpointActivations)}");

// Next-token prediction on arithmetic sequences mod the vocabulary: easy to learn, so the loss visibly falls.
// ModelGen's AdamW: fp32 master weights for the bf16 parameters, temporaries freed per parameter, gradients freed after each
// step: what the memory model counts for the [VramBudget] training scenario. On several ranks it is data parallel with ZeRO
// stage 1: each rank trains on its share of every batch, the optimizer averages the gradients over the ranks and keeps the
// moments and master weights of its own 1/N of the parameters only.
const int GlobalBatch = 8, Steps = 40;
if (GlobalBatch % world.Size != 0)
    throw new InvalidOperationException($"The sample splits a batch of {GlobalBatch} over the ranks: run it on 1, 2, 4 or 8 ranks, not {world.Size}.");
var local = GlobalBatch / world.Size;
using var optimizer = new AdamW(model.parameters(), learningRate: 3e-3, weightDecay: 0,
    settings: new OptimizerSettings { DataParallel = world, ZeroStage = world.Size > 1 ? 1 : 0 });
// Progress as the modelgen tool shows it: tokens per second, loss and this process's measured peak memory (NVML on a GPU
// machine, resident memory here), every 10 steps, from rank 0.
using var monitor = MemoryMonitor.Open();
var tracker = new TrainingProgressTracker(new EveryTenthStep(new TrainingProgressView()), Steps, monitor, world.Rank);
for (var step = 1; step <= Steps; step++)
{
    using var scope = torch.NewDisposeScope();
    // Every rank draws the same global batch and keeps its rows, so any number of ranks trains on the same data.
    using var generator = new torch.Generator((ulong)step);
    var start = torch.randint(0, config.Vocab, new long[] { GlobalBatch, 1 }, generator: generator);
    var stride = torch.randint(1, 4, new long[] { GlobalBatch, 1 }, generator: generator);
    var tokens = (start + stride * torch.arange(17).unsqueeze(0)).remainder(config.Vocab)[(world.Rank * local)..((world.Rank + 1) * local)];
    var inputs = tokens[.., ..16];
    var targets = tokens[.., 1..];
    var logits = model.call(inputs);
    var loss = Precision.CrossEntropyFp32(logits.reshape(-1, config.Vocab), targets.reshape(-1));
    BackwardFailures.Backward(loss);
    optimizer.Step();
    var shown = loss.detach().clone();
    world.AllReduce(shown, ReduceOp.Average);
    if (lead)
        tracker.StepCompleted(inputs.numel(), shown.item<float>());
}

if (!lead)
    return;

// state_dict keys follow the documented layout: blocks.{i}.attn.q_proj.weight, blocks.{i}.mlp.gate_proj.weight, ...
// Saved as safetensors (what Hugging Face tools read) and loaded back with ModelGen's loader, which checks every key, shape
// and dtype before it copies anything and reports its progress as it goes.
var path = Path.Combine(Path.GetTempPath(), $"modelgen-llama-tiny-{Environment.ProcessId}.safetensors");
SafetensorsWriter.Save(path, model.state_dict());
using var reloaded = new Llama(config);
WeightLoader.Load(reloaded, path, new WeightLoadOptions { Progress = new WhenDone(new LoadingProgressView()) });
model.eval();
reloaded.eval();
using (torch.no_grad())
{
    var probe = torch.arange(16).unsqueeze(0);
    var same = model.call(probe).Equals(reloaded.call(probe));
    Console.WriteLine($"saved and reloaded {model.state_dict().Count} tensors ({string.Join(", ", model.state_dict().Keys.Take(4))}, ...): outputs equal = {same}");
}
File.Delete(path);

/// <summary>Passes on the first step's report and every tenth.</summary>
internal sealed class EveryTenthStep(IProgress<TrainingProgress> inner) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value)
    {
        if (value.Step == 1 || value.Step % 10 == 0)
            inner.Report(value);
    }
}

/// <summary>Passes on the report of the last tensor only (a tiny model loads in a blink; a large one would show them all).</summary>
internal sealed class WhenDone(IProgress<LoadingProgress> inner) : IProgress<LoadingProgress>
{
    public void Report(LoadingProgress value)
    {
        if (value.TensorsLoaded == value.TotalTensors)
            inner.Report(value);
    }
}
