using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using ModelGen.Loading;
using ModelGen.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Benchmarks;

/// <summary>
/// Peak host memory of loading pretrained weights, against the target "final model + largest tensor (+10 % of the model)".
/// <c>load-memory write DIR</c> writes the checkpoints once; <c>load-memory measure DIR SCENARIO</c> measures one scenario in a
/// fresh process (so no allocator state carries over): the resident-set peak (VmHWM) from just before the model is built to the
/// end of the load, minus the resident set just before. The model: a 16384 × 1024 embedding (the largest tensor, 64 MiB in
/// fp32) and 8 blocks of a 1024 → 4096 and a 4096 → 1024 Linear without bias (16 MiB each in fp32): 320 MiB in fp32.
/// </summary>
public static class LoadingMemory
{
    private const long Vocab = 16384, Hidden = 1024, Inner = 4096;
    private const int Blocks = 8;

    /// <summary>The scenarios: checkpoint file → model storage.</summary>
    public static readonly string[] Scenarios = { "fp32-st", "bf16-st-to-fp32", "fp32-pt", "fp32-st-to-int8", "fp32-st-to-int4", "fp32-st-to-nf4" };

    public static void Run(string[] args)
    {
        // glibc's default mmap threshold rises as tensors are freed, after which freed blocks stay resident; pinning it
        // (mallopt(3) M_MMAP_THRESHOLD, and one arena) makes the resident set follow the live bytes.
        if (mallopt(-3, 128 * 1024) != 1 || mallopt(-8, 1) != 1)
            throw new InvalidOperationException("mallopt refused M_MMAP_THRESHOLD / M_ARENA_MAX (glibc on Linux needed).");
        switch (args)
        {
            case ["write", var dir]:
                Write(dir);
                break;
            case ["measure", var dir, var scenario]:
                Measure(dir, scenario);
                break;
            default:
                throw new ArgumentException("usage: load-memory write DIR | load-memory measure DIR " + string.Join("|", Scenarios));
        }
    }

    private static void Write(string dir)
    {
        Directory.CreateDirectory(dir);
        manual_seed(1);
        using var model = new Model(null);
        var state = model.state_dict();
        SafetensorsWriter.Save(Path.Combine(dir, "fp32.safetensors"), state);
        var bf16 = state.ToDictionary(p => p.Key, p => p.Value.to(ScalarType.BFloat16));
        SafetensorsWriter.Save(Path.Combine(dir, "bf16.safetensors"), bf16);
        Console.WriteLine($"wrote {dir}: fp32 {new FileInfo(Path.Combine(dir, "fp32.safetensors")).Length} B, bf16 {new FileInfo(Path.Combine(dir, "bf16.safetensors")).Length} B (write fp32.pt with torch.save from the same file for the .pt scenario)");
    }

    private static void Measure(string dir, string scenario)
    {
        QuantKind? kind = scenario switch
        {
            "fp32-st-to-int8" => QuantKind.Int8,
            "fp32-st-to-int4" => QuantKind.Int4,
            "fp32-st-to-nf4" => QuantKind.NF4,
            _ => null,
        };
        string file = scenario switch
        {
            "bf16-st-to-fp32" => "bf16.safetensors",
            "fp32-pt" => "fp32.pt",
            _ => "fp32.safetensors",
        };

        // A first, unmeasured round pages in libtorch's and .NET's code and the allocator's arenas (resident file pages of
        // shared libraries count in VmHWM), so the measured round sees only the model and the load's own memory.
        using (var warmUp = new Model(kind))
            WeightLoader.Load(warmUp, Path.Combine(dir, file));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long baseline = MemoryMonitor.ResidentBytes();
        MemoryMonitor.ResetPeak();
        using var model = new Model(kind);
        long built = MemoryMonitor.PeakResidentBytes() - baseline;
        var report = WeightLoader.Load(model, Path.Combine(dir, file));
        long peak = MemoryMonitor.PeakResidentBytes() - baseline;
        long modelBytes = model.state_dict().Values.Sum(t => t.numel() * t.ElementSize);
        using var source = WeightSources.Open(Path.Combine(dir, file));
        long largest = source.Tensors.Max(t => t.ByteLength);
        double budget = 1.1 * modelBytes + largest;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{scenario}: model {Mib(modelBytes)} MiB, largest stored tensor {Mib(largest)} MiB, peak above baseline {Mib(peak)} MiB = {(double)peak / (modelBytes + largest):F3} × (model + largest); target 1.1 × model + largest = {Mib((long)budget)} MiB: {(peak <= budget ? "met" : "NOT met")}; quantized layers {report.LayersQuantized}, largest temporary {Mib(report.LargestReadBytes)} MiB; peak while building the model (before loading) {Mib(built)} MiB"));
    }

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);

    [DllImport("libc")]
    private static extern int mallopt(int parameter, int value);

    /// <summary>Embedding plus blocks of two Linears (plain, or quantized as <paramref name="kind"/> says).</summary>
    private sealed class Model : nn.Module<Tensor, Tensor>
    {
        public Model(QuantKind? kind) : base("LoadingModel")
        {
            register_module("embed", nn.Embedding(Vocab, Hidden));
            register_module("blocks", nn.ModuleList(Enumerable.Range(0, Blocks).Select(_ => new Block(kind)).ToArray()));
        }

        public override Tensor forward(Tensor input) => throw new NotSupportedException();

        private sealed class Block : nn.Module<Tensor, Tensor>
        {
            public Block(QuantKind? kind) : base("Block")
            {
                register_module("up", Linear(Hidden, Inner, kind));
                register_module("down", Linear(Inner, Hidden, kind));
            }

            public override Tensor forward(Tensor input) => throw new NotSupportedException();
        }

        private static nn.Module<Tensor, Tensor> Linear(long input, long output, QuantKind? kind) => kind is { } k
            ? new QuantizedLinear(input, output, hasBias: false, k, k == QuantKind.Int8 ? 0 : k == QuantKind.Int4 ? 128 : 64)
            : nn.Linear(input, output, hasBias: false);
    }
}
