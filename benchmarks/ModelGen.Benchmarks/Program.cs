using System.IO;
using BenchmarkDotNet.Running;

namespace ModelGen.Benchmarks;

/// <summary>
/// Runs the benchmark classes chosen on the command line (e.g. <c>--filter *Quantization* --job short</c>), or, with
/// <c>write-analyzer-model DIR</c>, writes the 100-layer model of <see cref="AnalyzerBenchmarks"/> as a project to build for real.
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        if (args is ["write-analyzer-model", var directory])
        {
            Directory.CreateDirectory(directory);
            File.WriteAllText(Path.Combine(directory, "Model.cs"), AnalyzerBenchmarks.Source());
            return;
        }

        if (args is ["load-memory", .. var rest])
        {
            LoadingMemory.Run(rest);
            return;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
