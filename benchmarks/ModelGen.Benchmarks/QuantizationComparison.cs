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
/// tables, the thread-pool forms, int4, nf4, nf4-dq, then again, in a new order each round), so that a machine whose load changes during the run slows every format alike: each round's time is
/// divided by the same round's bf16 time, and the median of those ratios is printed. For a quick relative figure on a shared
/// machine (<c>quant-compare [tokens…] [--rounds N] [--threads N] [--formats a,b] [--repeat K] [--setups N] [--thread-per-setup] [--parts]</c>, the last for <see cref="QuantizationParts"/>); the absolute table still comes from BenchmarkDotNet
/// on an idle machine.
/// </summary>
internal static class QuantizationComparison
{
    // "int8-cvt" is the int8 layer with its tile's byte tables turned off (the converting loop); a "-pool" row runs the tiles (and
    // NF4's one-token kernel) on .NET's thread pool instead of libtorch's OpenMP team (OpenMpTeam): A/Bs in one process.
    private static readonly string[] AllFormats = { "bf16", "int8", "int8-cvt", "int8-pool", "int4-g128", "nf4-b64", "nf4-b64-pool", "nf4-b64-dq", "nf4-b64-dq-pool" };

    // The formats compared (--formats a,b,…: bf16 is always among them, as the baseline).
    private static string[] Formats = AllFormats;

    // --repeat K: each timed call follows K untimed calls of the same format (as BenchmarkDotNet calls one format back to back).
    private static int s_repeat;

    public static void Run(string[] args, TextWriter log)
    {
        int rounds = 15, setups = 1;
        bool parts = false, threadPerSetup = false;
        var tokens = new List<int>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--rounds" && i + 1 < args.Length)
                rounds = int.Parse(args[++i], CultureInfo.InvariantCulture);
            else if (args[i] == "--formats" && i + 1 < args.Length)
                Formats = new[] { "bf16" }.Concat(args[++i].Split(',').Where(f => f != "bf16")).ToArray();
            else if (args[i] == "--repeat" && i + 1 < args.Length)
                s_repeat = int.Parse(args[++i], CultureInfo.InvariantCulture);
            else if (args[i] == "--setups" && i + 1 < args.Length)
                setups = int.Parse(args[++i], CultureInfo.InvariantCulture);
            else if (args[i] == "--thread-per-setup")
                threadPerSetup = true;
            else if (args[i] == "--parts")
                parts = true;
            else if (args[i] == "--threads" && i + 1 < args.Length)
                torch.set_num_threads(int.Parse(args[++i], CultureInfo.InvariantCulture));
            else
                tokens.Add(int.Parse(args[i], CultureInfo.InvariantCulture));
        }
        if (parts)
        {
            QuantizationParts.Run(rounds, log); // each part of a 256-token prefill call alone
            return;
        }
        if (tokens.Count == 0)
            tokens.AddRange(new[] { 1, 256 });

        log.WriteLine($"quant-compare: 4096 × 4096, bf16 compute, {rounds} interleaved rounds, {torch.get_num_threads()} threads; {ModelGen.Benchmarking.IdleMachine.Describe()}");
        // --setups N: N fresh sets of layers one after another (BenchmarkDotNet builds one per case), so a time that depends on
        // where the weights and transients land in memory shows as a spread between setups.
        for (int setup = 0; setup < setups; setup++)
        {
            void RunSetup()
            {
                var layers = Formats.ToDictionary(f => f, f => QuantizationBenchmarks.CreateLayer(f is "int8-cvt" or "int8-pool" ? "int8" : f.Replace("-pool", "", StringComparison.Ordinal)));
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
            }
            if (!threadPerSetup)
            {
                RunSetup();
                continue;
            }
            // As BenchmarkDotNet's in-process toolchain runs each case: on a thread of its own.
            var thread = new System.Threading.Thread(RunSetup);
            thread.Start();
            thread.Join();
        }
        log.WriteLine($"after: {ModelGen.Benchmarking.IdleMachine.Describe()}");
        log.WriteLine(ModelGen.Benchmarking.IdleMachine.IsIdle() ? "machine idle: figures usable" : "machine busy: relative figures only, not results");
    }

    private static void Compare(Dictionary<string, nn.Module<Tensor, Tensor>> layers, int tokens, int rounds, TextWriter log)
    {
        using var input = randn(new long[] { tokens, 4096 }, ScalarType.BFloat16, generator: new Generator(7));
        var times = Formats.ToDictionary(f => f, _ => new List<double>());
        var faults = Formats.ToDictionary(f => f, _ => new List<long>());
        var cpu = Formats.ToDictionary(f => f, _ => new List<double>());
        foreach (var format in Formats)
        {
            Forward(format, layers[format], input); // warm-up: JIT, the Int4 kernel's packed copy
            Forward(format, layers[format], input);
        }
        var shuffle = new Random(13);
        for (int round = 0; round < rounds; round++)
        {
            // A new order each round: int8-cvt reads the same codes as int8, so a fixed order would always find them in cache.
            foreach (var format in Formats.OrderBy(_ => shuffle.Next()))
            {
                for (int r = 0; r < s_repeat; r++)
                    Forward(format, layers[format], input);
                long ran = CpuNanoseconds(), faulted = MinorFaults(); // the fault count innermost: reading /proc allocates
                var clock = Stopwatch.StartNew();
                Forward(format, layers[format], input);
                times[format].Add(clock.Elapsed.TotalMilliseconds);
                faults[format].Add(MinorFaults() - faulted);
                cpu[format].Add((CpuNanoseconds() - ran) / 1e6);
            }
        }
        var bf16 = times["bf16"];
        foreach (var format in Formats)
        {
            var ratios = times[format].Select((t, i) => t / bf16[i]).OrderBy(r => r).ToList();
            var sorted = times[format].OrderBy(t => t).ToList();
            var faultsSorted = faults[format].OrderBy(f => f).ToList();
            var cpuSorted = cpu[format].OrderBy(c => c).ToList();
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"tokens {tokens,4}  {format,-11} median {sorted[sorted.Count / 2],9:F3} ms  min {sorted[0],9:F3} ms  ratio to bf16 (median of rounds) {ratios[ratios.Count / 2],5:F2}  (quartiles {ratios[ratios.Count / 4]:F2}–{ratios[3 * ratios.Count / 4]:F2})  cpu {cpuSorted[cpuSorted.Count / 2],7:F2} ms (min {cpuSorted[0]:F2})  minor faults {faultsSorted[faultsSorted.Count / 2]}"));
        }
    }

    /// <summary>
    /// With <c>MODELGEN_OMP_WAIT_POLICY</c> set (ACTIVE or PASSIVE; ./build.sh passes MODELGEN_* variables into the root file
    /// system, not OMP_*), sets OMP_WAIT_POLICY in the native environment; called first thing in Main, before libtorch, and with it
    /// libgomp, is loaded (libgomp reads it once, then). Each prefill tile hands the cores from libtorch's OpenMP threads to .NET's
    /// and back; by default an OpenMP worker spins for a while after a parallel region, on a core the next tile's .NET workers want,
    /// which a bf16 Linear (one GEMM per call) never meets. PASSIVE makes it sleep at once, so runs with and without it show what
    /// the spinning costs the tiles (docs/benchmarks-quantization.md). (.NET's Environment.SetEnvironmentVariable does not reach
    /// the native environment on Linux, so libc's setenv is called.)
    /// </summary>
    public static void ApplyOmpWaitPolicy()
    {
        var value = Environment.GetEnvironmentVariable("MODELGEN_OMP_WAIT_POLICY");
        if (string.IsNullOrEmpty(value))
            return;
        if (SetNativeEnvironment("OMP_WAIT_POLICY", value, 1) != 0)
            throw new InvalidOperationException("setenv(OMP_WAIT_POLICY) failed");
        Console.WriteLine($"OMP_WAIT_POLICY={value} (native environment, before libtorch loads)");
    }

    /// <summary>
    /// With <c>MODELGEN_MALLOC_MMAP_THRESHOLD</c> set (bytes), fixes glibc's mmap threshold (<c>mallopt(M_MMAP_THRESHOLD)</c>), so that
    /// a run can show whether a format's time depends on a transient being mapped afresh, page-faulted, on every call.
    /// </summary>
    public static void ApplyMallocThreshold()
    {
        var value = Environment.GetEnvironmentVariable("MODELGEN_MALLOC_MMAP_THRESHOLD");
        if (string.IsNullOrEmpty(value))
            return;
        int bytes = int.Parse(value, CultureInfo.InvariantCulture);
        if (MallocOption(-3, bytes) != 1 || MallocOption(-1, 2 * bytes) != 1) // M_MMAP_THRESHOLD, and M_TRIM_THRESHOLD, which fixing it leaves at 128 KiB
            throw new InvalidOperationException("mallopt(M_MMAP_THRESHOLD, M_TRIM_THRESHOLD) failed");
        Console.WriteLine($"M_MMAP_THRESHOLD={value}");
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mallopt")]
    private static extern int MallocOption(int parameter, int value);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetNativeEnvironment([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string name,
        [System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string value, int overwrite);

    /// <summary>
    /// This process's minor page faults so far (/proc/self/stat, field 10; -1 where there is none): a call that maps fresh memory
    /// (a transient too large for the allocator to reuse) faults once per 4 KiB page, which the load on the machine does not change.
    /// </summary>
    private static long MinorFaults()
    {
        try
        {
            var stat = File.ReadAllText("/proc/self/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // after "pid (name) ": field 3 onwards
            return long.Parse(fields[10 - 3], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return -1;
        }
    }

    /// <summary>
    /// Nanoseconds this process's threads have run on a CPU (the sum over /proc/self/task/*/schedstat, first field; 0 where there is
    /// none). Unlike wall time it does not count the time a thread waits for a core the other agents hold, so on a loaded machine it
    /// still shows how much work (spin-waiting included) a call does; cache sharing with other processes still changes it.
    /// </summary>
    private static long CpuNanoseconds()
    {
        long total = 0;
        try
        {
            foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
            {
                try
                {
                    var text = File.ReadAllText(Path.Combine(task, "schedstat"));
                    total += long.Parse(text.AsSpan(0, text.IndexOf(' ')), CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                    // the thread ended between the listing and the read
                }
            }
        }
        catch (IOException)
        {
            return 0;
        }
        return total;
    }

    private static void Forward(string format, nn.Module<Tensor, Tensor> layer, Tensor input)
    {
        ModelGen.Quantization.Bf16TileDequantizer.ForceNoByteTables = format == "int8-cvt";
        ModelGen.Quantization.OpenMpTeam.ForceThreadPool = format.EndsWith("-pool", StringComparison.Ordinal);
        try
        {
            using var noGrad = no_grad();
            using var output = layer.call(input);
        }
        finally
        {
            ModelGen.Quantization.Bf16TileDequantizer.ForceNoByteTables = false;
            ModelGen.Quantization.OpenMpTeam.ForceThreadPool = false;
        }
    }
}
