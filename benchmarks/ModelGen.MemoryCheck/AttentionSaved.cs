using System;
using System.Globalization;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Nn;
using ModelGen.Specs;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.MemoryCheck;

/// <summary>
/// What one eager attention block's forward leaves for backward, measured: the resident set after a forward with autograd on
/// (every temporary freed, the graph alive) above the one before it, less the output, against the memory model's saved tensors of
/// that block (less its input, which exists before). Causal, attention dropout 0.1, fp32 and bf16; Korthikanti et al. count
/// 2 + 1 + 2 bytes per score in 16-bit (softmax output, dropout mask, dropped probabilities); on the CPU the dropout mask is the
/// d-byte noise tensor. Also the resident peak during the forward above the same baseline (for the record: the memory model's
/// step accounting does not add a block's own saved tensors to its moment, docs/memory-check.md).
/// </summary>
internal static class AttentionSaved
{
    private const long Batch = 4, Seq = 512, Hidden = 256, Heads = 8;

    public static void Run()
    {
        const double MiB = 1 << 20;
        Console.WriteLine($"One eager causal attention forward (batch {Batch}, seq {Seq}, hidden {Hidden}, {Heads} heads, dropout 0.1) with autograd on, CPU:");
        Console.WriteLine();
        Console.WriteLine("| dtype | saved, predicted (MiB) | saved, measured (MiB) | measured / predicted | forward peak, measured (MiB) |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var dtype in new[] { DType.Float32, DType.BFloat16 })
        {
            var (saved, peak) = Measure(dtype);
            var predictedSaved = Predict(dtype);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {dtype} | {predictedSaved / MiB:F1} | {saved / MiB:F1} | {(double)saved / predictedSaved:F3} | {peak / MiB:F1} |"));
        }
    }

    /// <summary>The model's saved bytes of the block, less its input.</summary>
    private static long Predict(DType dtype)
    {
        var attention = new AttentionSpec("Attn", "attn", new Dim("Hidden", Hidden), new Dim("Heads", Heads), new Dim("Heads", Heads), true, false, 10000, false, false, 0.1);
        var root = new LayerSpec("Demo", "Probe", "global::Demo.Probe", "public", "global::Demo.Cfg", true, new BlockSpec[] { attention }.ToEquatableArray(), new ForwardSpec("Forward", "x")) with { Precision = dtype };
        var estimate = MemoryModel.Estimate(new ModelSpec(root, EquatableArray<LayerSpec>.Empty), new ScenarioSpec(0, Workload.Training, Seq, Batch, Optimizer.Sgd), DeviceProfile.Cpu);
        var layer = estimate.Layers.Single();
        var input = layer.SavedTensors.Single(t => t.Tensor.StartsWith("input", StringComparison.Ordinal)).Bytes;
        return layer.ActivationBytes - input;
    }

    private static (long Saved, long Peak) Measure(DType dtype)
    {
        var scalar = Precision.ToScalarType(dtype);
        manual_seed(5);
        using var block = new Attention(Hidden, Heads, Heads, causal: true, fused: false, dropout: 0.1, dtype: scalar);
        block.train();
        using var x = randn(new[] { Batch, Seq, Hidden }, dtype: scalar).requires_grad_(true);
        // Warm-up: the same forward and backward once, so libtorch's one-time buffers are not counted.
        using (var scope = NewDisposeScope())
            block.call(x).sum().backward();
        x.grad?.Dispose();
        foreach (var p in block.parameters())
            p.grad = null;

        GC.Collect();
        var before = ResidentMemory.Current;
        ResidentMemory.ResetPeak();
        var output = block.call(x);
        var peak = ResidentMemory.Peak - before;
        var after = ResidentMemory.Current;
        var outputBytes = output.numel() * output.element_size();
        output.Dispose();
        return (after - before - outputBytes, peak);
    }
}
