using System;
using System.IO;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using ModelGen.Benchmarking;

namespace ModelGen.Benchmarks;

/// <summary>
/// Runs the benchmark classes chosen on the command line (e.g. <c>--filter *Quantization* --job short</c>), or, with
/// <c>write-analyzer-model DIR</c>, writes the 100-layer model of <see cref="AnalyzerBenchmarks"/> as a project to build for real,
/// or, with <c>load-memory …</c>, measures the peak host memory of weight loading (see docs/loading.md).
/// Results go to <c>BenchmarkDotNet.Artifacts/results</c> only when the machine was idle before and after the run (see
/// <see cref="IdleMachine"/>); the load average is written beside them in <c>load.txt</c>.
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        QuantizationComparison.ApplyOmpWaitPolicy();
        QuantizationComparison.ApplyMallocThreshold(); // MODELGEN_OMP_WAIT_POLICY, before libtorch loads (docs/benchmarks-quantization.md)
        if (args is ["write-analyzer-model", var directory])
        {
            Directory.CreateDirectory(directory);
            File.WriteAllText(Path.Combine(directory, "Model.cs"), AnalyzerBenchmarks.Source());
            return;
        }

        // Memory, not time: resident bytes do not depend on the machine's load.
        if (args is ["load-memory", .. var rest])
        {
            LoadingMemory.Run(rest);
            return;
        }

        if (args is ["quant-compare", .. var quantArgs])
        {
            QuantizationComparison.Run(quantArgs, Console.Out); // interleaved relative times (docs/benchmarks-quantization.md)
            return;
        }

        if (args is ["decode-check"])
        {
            DecodeBenchmarks.Check(Console.Out); // one timed pass: proves the decode benchmark runs (its figures need an idle machine)
            return;
        }

        if (!IdleMachine.Check("before", Console.Out))
        {
            Environment.ExitCode = 3;
            return;
        }
        var before = IdleMachine.Describe();
        // BenchmarkDotNet writes into a scratch folder; the results move to the usual place only if the load allows it.
        var scratch = Path.Combine(Path.GetTempPath(), $"modelgen-benchmarks-{Environment.ProcessId}");
        var config = DefaultConfig.Instance.WithArtifactsPath(scratch);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        if (!IdleMachine.Check("after", Console.Out))
        {
            Environment.ExitCode = 3;
            return;
        }
        var results = Path.Combine("BenchmarkDotNet.Artifacts", "results");
        Directory.CreateDirectory(results);
        var produced = Path.Combine(scratch, "results");
        if (Directory.Exists(produced))
        {
            foreach (var file in Directory.GetFiles(produced))
                File.Copy(file, Path.Combine(results, Path.GetFileName(file)), overwrite: true);
        }
        File.WriteAllText(Path.Combine(results, "load.txt"), $"before: {before}{Environment.NewLine}after: {IdleMachine.Describe()}{Environment.NewLine}");
        Console.WriteLine($"results in {Path.GetFullPath(results)}");
    }
}
