using BenchmarkDotNet.Running;

namespace ModelGen.Benchmarks;

/// <summary>Runs the benchmark classes chosen on the command line (e.g. <c>--filter *Quantization* --job short</c>).</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
