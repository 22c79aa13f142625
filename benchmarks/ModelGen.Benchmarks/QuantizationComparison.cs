using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Benchmarks;

/// <summary>
/// The formats of <see cref="QuantizationBenchmarks"/> timed in one process, interleaved call by call (bf16, int8, int8 without its byte
/// tables, int4, nf4, nf4-dq, then again), so that a machine whose load changes during the run slows every format alike: each round's time is
/// divided by the same round's bf16 time, and the median of those ratios is printed. For a quick relative figure on a shared
/// machine (<c>quant-compare [tokens…] [--rounds N] [--threads N]</c>); the absolute table still comes from BenchmarkDotNet
/// on an idle machine.
/// </summary>
internal static class QuantizationComparison
{
    // "int8-mul" is the int8 layer with its tile's byte tables turned off (the multiply-and-round loop), for an A/B in one process.
    private static readonly string[] Formats = { "bf16", "int8", "int8-mul", "int4-g128", "nf4-b64", "nf4-b64-dq" };

    public static void Run(string[] args, TextWriter log)
    {
        int rounds = 15;
        var tokens = new List<int>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--rounds" && i + 1 < args.Length)
                rounds = int.Parse(args[++i], CultureInfo.InvariantCulture);
            else if (args[i] == "--threads" && i + 1 < args.Length)
                torch.set_num_threads(int.Parse(args[++i], CultureInfo.InvariantCulture));
            else
                tokens.Add(int.Parse(args[i], CultureInfo.InvariantCulture));
        }
        if (tokens.Count == 0)
            tokens.AddRange(new[] { 1, 256 });

        log.WriteLine($"quant-compare: 4096 × 4096, bf16 compute, {rounds} interleaved rounds, {torch.get_num_threads()} threads; {ModelGen.Benchmarking.IdleMachine.Describe()}");
        var layers = Formats.ToDictionary(f => f, f => QuantizationBenchmarks.CreateLayer(f == "int8-mul" ? "int8" : f));
        try
        {
            foreach (var count in tokens)
                Compare(layers, count, rounds, log);
        }
        finally
        {
            foreach (var layer in layers.Values)
                layer.Dispose();
        }
        log.WriteLine($"after: {ModelGen.Benchmarking.IdleMachine.Describe()}");
        log.WriteLine(ModelGen.Benchmarking.IdleMachine.IsIdle() ? "machine idle: figures usable" : "machine busy: relative figures only, not results");
    }

    private static void Compare(Dictionary<string, nn.Module<Tensor, Tensor>> layers, int tokens, int rounds, TextWriter log)
    {
        using var input = randn(new long[] { tokens, 4096 }, ScalarType.BFloat16, generator: new Generator(7));
        var times = Formats.ToDictionary(f => f, _ => new List<double>());
        foreach (var format in Formats)
        {
            Forward(format, layers[format], input); // warm-up: JIT, the Int4 kernel's packed copy
            Forward(format, layers[format], input);
        }
        for (int round = 0; round < rounds; round++)
        {
            foreach (var format in Formats)
            {
                var clock = Stopwatch.StartNew();
                Forward(format, layers[format], input);
                times[format].Add(clock.Elapsed.TotalMilliseconds);
            }
        }
        var bf16 = times["bf16"];
        foreach (var format in Formats)
        {
            var ratios = times[format].Select((t, i) => t / bf16[i]).OrderBy(r => r).ToList();
            var sorted = times[format].OrderBy(t => t).ToList();
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"tokens {tokens,4}  {format,-11} median {sorted[sorted.Count / 2],9:F3} ms  min {sorted[0],9:F3} ms  ratio to bf16 (median of rounds) {ratios[ratios.Count / 2],5:F2}  (quartiles {ratios[ratios.Count / 4]:F2}–{ratios[3 * ratios.Count / 4]:F2})"));
        }
    }

    private static void Forward(string format, nn.Module<Tensor, Tensor> layer, Tensor input)
    {
        ModelGen.Quantization.Bf16TileDequantizer.ForceNoByteTables = format == "int8-mul";
        try
        {
            using var noGrad = no_grad();
            using var output = layer.call(input);
        }
        finally
        {
            ModelGen.Quantization.Bf16TileDequantizer.ForceNoByteTables = false;
        }
    }
}
