using System;
using System.Globalization;
using System.Linq;
using ModelGen.Inference;
using ModelGen.Memory;
using ModelGen.Specs;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.MemoryCheck;

/// <summary>
/// Peak resident memory of prefill plus decode through a generated decoder's <c>Generate</c> (KV cache), against the memory
/// model's inference estimate at the same total length (prompt + new tokens) and batch. See docs/memory-check.md.
/// </summary>
internal static class InferenceCheck
{
    /// <summary>Tokens generated after the prompt; the estimate's sequence is prompt + these.</summary>
    private const int NewTokens = 4;

    /// <summary>Pause after each warm-up, for the runtime's background recompilation of hot methods.</summary>
    private const int TieringPause = 1000;

    /// <summary>Warm-up runs before the baseline: MEMORYCHECK_WARMUPS, or 2.</summary>
    private static int WarmUps() =>
        int.TryParse(Environment.GetEnvironmentVariable("MEMORYCHECK_WARMUPS"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 2;

    /// <summary>Runs one configuration (<c>infer-plain</c>, <c>infer-quantized</c>, with <c>-small</c> for half the width) and prints its row.</summary>
    public static void Run(string name, int seq, int batch, bool trace = false)
    {
        var small = name.EndsWith("-small", StringComparison.Ordinal);
        var quantized = name.StartsWith("infer-quantized", StringComparison.Ordinal);
        var bf16 = name.StartsWith("infer-quantized-bf16", StringComparison.Ordinal);
        var config = small ? new ProbeConfig { Hidden = 256, Heads = 4, Ffn = 1024 } : new ProbeConfig();
        var spec = bf16 ? QuantizedBf16Probe.DescribeModel(config) : quantized ? QuantizedProbe.DescribeModel(config) : PlainProbe.DescribeModel(config);
        var estimate = MemoryModel.Estimate(spec, new ScenarioSpec(0, Workload.Inference, seq, batch, Optimizer.AdamW), DeviceProfile.Cpu);

        // Warm-ups with throwaway instances (see Program.cs), then a pause: the runtime compiles hot methods again (tiered
        // compilation, on a background thread after a 100 ms delay), and that compiler memory is the process's, not the model's.
        var warmUps = WarmUps();
        for (var i = 0; i < warmUps; i++)
        {
            Generate(Create(quantized, bf16, config), config.Vocab, seq, batch);
            System.Threading.Thread.Sleep(TieringPause);
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var baseline = ResidentMemory.Current;
        var jitted = System.Runtime.JitInfo.GetCompiledMethodCount();
        ResidentMemory.ResetPeak();
        var model = Create(quantized, bf16, config);
        using (var tracing = trace ? new InferenceTrace(model, baseline) : null)
        {
            tracing?.Line("model created");
            Generate(model, config.Vocab, seq, batch, tracing);
            tracing?.Line("after Generate");
        }
        var measured = ResidentMemory.Peak - baseline;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{warmUps} warm-up(s); methods compiled during the measured run: {System.Runtime.JitInfo.GetCompiledMethodCount() - jitted}"));

        const double MiB = 1 << 20;
        var terms = string.Join(", ", estimate.Terms.Where(t => t.Bytes > 0).Select(t => $"{t.Name} {t.Bytes / MiB:F1}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {estimate.PeakBytes / MiB:F1} | {measured / MiB:F1} | {(double)measured / estimate.PeakBytes:F3} | {estimate.PeakPhase} | {terms} |"));
    }

    private static nn.Module<Tensor, Tensor> Create(bool quantized, bool bf16, ProbeConfig config) =>
        bf16 ? new QuantizedBf16Probe(config) : quantized ? new QuantizedProbe(config) : new PlainProbe(config);

    private static void Generate(nn.Module<Tensor, Tensor> model, int vocab, int seq, int batch, InferenceTrace? trace = null)
    {
        torch.manual_seed(0);
        model.eval();
        var random = new Random(1);
        var prompts = Enumerable.Range(0, batch).Select(_ => Enumerable.Range(0, seq - NewTokens).Select(_ => (long)random.Next(vocab)).ToArray()).ToArray();
        // One prefill chunk: the estimate's prefill phase runs the whole prompt at once.
        var result = TextGenerator.Generate(trace is null ? (ICachedLanguageModel)model : trace.Wrap((ICachedLanguageModel)model), prompts, new GenerationOptions { MaxNewTokens = NewTokens, PrefillChunk = seq });
        if (result.Tokens.Any(t => t.Length != NewTokens))
            throw new InvalidOperationException("generation stopped early");
        model.Dispose();
    }
}
