using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Gpt2Sample;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Benchmarks;

/// <summary>
/// One AdamW training step of the generated GPT-2 (samples/Gpt2) with no checkpointing, with full checkpointing of every block
/// (what <c>[Checkpoint]</c> on the block class sets), and with selective checkpointing of the attention core (what
/// <c>[Checkpoint(CheckpointMode.Selective)]</c> sets). The time ratio is the recompute's cost; the memory columns are the peak
/// resident memory one step adds above its baseline, measured with <see cref="MemoryMonitor"/> in the host process.
/// </summary>
[Config(typeof(PeakMemoryConfig))]
public class CheckpointingBenchmarks
{
    /// <summary>Eager attention at a sequence long enough that activations, not weights, dominate a step's memory.</summary>
    internal static readonly Gpt2Config Config = new() { Vocab = 1024, Context = 256, Hidden = 256, Layers = 4, Heads = 4, Ffn = 1024 };
    private const int Batch = 4, Sequence = 256;

    private TrainingStep? _step;

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(1);
        _step = new TrainingStep();
    }

    [GlobalCleanup]
    public void Cleanup() => _step?.Dispose();

    [Benchmark(Baseline = true)]
    public void NoCheckpoint() => _step!.Run(CheckpointMode.None);

    [Benchmark]
    public void FullCheckpoint() => _step!.Run(CheckpointMode.Full);

    [Benchmark]
    public void SelectiveCheckpoint() => _step!.Run(CheckpointMode.Selective);

    /// <summary>A model, its optimizer and a fixed batch; <see cref="Run"/> does one step in the given checkpointing mode.</summary>
    internal sealed class TrainingStep : IDisposable
    {
        private readonly Gpt2 _model;
        private readonly optim.Optimizer _optimizer;
        private readonly Tensor _inputs, _targets;

        public TrainingStep()
        {
            torch.manual_seed(42);
            _model = new Gpt2(Config);
            _model.InitializeWeights();
            _model.train();
            _optimizer = torch.optim.AdamW(_model.parameters(), lr: 1e-4);
            var tokens = torch.randint(0, Config.Vocab, new long[] { Batch, Sequence + 1 });
            _inputs = tokens[.., ..Sequence].contiguous();
            _targets = tokens[.., 1..].reshape(-1);
        }

        public void Run(CheckpointMode mode)
        {
            foreach (var block in _model.H)
            {
                block.CheckpointActivations = mode == CheckpointMode.Full;
                block.Attn.CheckpointCore = mode == CheckpointMode.Selective;
            }
            using var scope = torch.NewDisposeScope();
            _optimizer.zero_grad();
            var logits = _model.call(_inputs);
            var loss = nn.functional.cross_entropy(logits.reshape(-1, Config.Vocab), _targets);
            loss.backward();
            _optimizer.step();
        }

        public void Dispose()
        {
            _model.Dispose();
            _optimizer.Dispose();
            _inputs.Dispose();
            _targets.Dispose();
        }
    }

    /// <summary>Adds the peak-memory columns.</summary>
    private sealed class PeakMemoryConfig : ManualConfig
    {
        public PeakMemoryConfig()
        {
            AddColumn(new PairedRatioColumn());
            AddColumn(new PeakMemoryColumn(saving: false));
            AddColumn(new PeakMemoryColumn(saving: true));
        }
    }

    /// <summary>
    /// Peak resident MiB one step adds above its baseline, or the saving against <see cref="NoCheckpoint"/>, measured once per mode
    /// in the host process after a warm-up step (so the optimizer state and the allocator's steady state already exist).
    /// </summary>
    private sealed class PeakMemoryColumn(bool saving) : IColumn
    {
        private static Dictionary<CheckpointMode, long>? _peaks;

        public string Id => saving ? "PeakSaving" : "PeakStepMiB";
        public string ColumnName => saving ? "Peak saving" : "Peak MiB";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => saving ? 1 : 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => saving
            ? "1 − peak / peak without checkpointing"
            : "Peak resident memory a step adds above its baseline, MiB (2^20 bytes), MemoryMonitor.Measure";

        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            _peaks ??= MeasurePeaks();
            var mode = ModeOf(benchmarkCase);
            return saving
                ? (1.0 - _peaks[mode] / (double)_peaks[CheckpointMode.None]).ToString("P1", CultureInfo.InvariantCulture)
                : (_peaks[mode] / (double)(1 << 20)).ToString("0.0", CultureInfo.InvariantCulture);
        }
    }

    /// <summary>
    /// Step time of each mode over the time without checkpointing, as the median over rounds in which the three modes run back to
    /// back (in rotating order), so each ratio compares steps that saw the same load on the machine.
    /// </summary>
    private sealed class PairedRatioColumn : IColumn
    {
        private const int Rounds = 12;
        private static Dictionary<CheckpointMode, double>? _ratios;

        public string Id => "PairedRatio";
        public string ColumnName => "Paired ratio";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => -1;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => $"Median over {Rounds} back-to-back rounds of step time / step time without checkpointing (host process)";

        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            _ratios ??= MeasureRatios(Rounds);
            return _ratios[ModeOf(benchmarkCase)].ToString("0.000", CultureInfo.InvariantCulture);
        }
    }

    private static CheckpointMode ModeOf(BenchmarkCase benchmarkCase) => benchmarkCase.Descriptor.WorkloadMethod.Name switch
    {
        nameof(FullCheckpoint) => CheckpointMode.Full,
        nameof(SelectiveCheckpoint) => CheckpointMode.Selective,
        _ => CheckpointMode.None,
    };

    private static readonly CheckpointMode[] Modes = { CheckpointMode.None, CheckpointMode.Full, CheckpointMode.Selective };

    /// <summary>Median per-round ratio of each mode's step time to the uncheckpointed step time.</summary>
    internal static Dictionary<CheckpointMode, double> MeasureRatios(int rounds)
    {
        torch.set_num_threads(1);
        using var step = new TrainingStep();
        foreach (var mode in Modes)
            step.Run(mode);
        var ratios = Modes.ToDictionary(m => m, _ => new List<double>());
        for (var round = 0; round < rounds; round++)
        {
            var seconds = new Dictionary<CheckpointMode, double>();
            for (var i = 0; i < Modes.Length; i++)
            {
                var mode = Modes[(round + i) % Modes.Length];
                var clock = Stopwatch.StartNew();
                step.Run(mode);
                seconds[mode] = clock.Elapsed.TotalSeconds;
            }
            foreach (var mode in Modes)
                ratios[mode].Add(seconds[mode] / seconds[CheckpointMode.None]);
        }
        return Modes.ToDictionary(m => m, m => Median(ratios[m]));
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        var n = values.Count;
        return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    }

    /// <summary>Peak bytes above baseline of one training step in each mode, each after a warm-up step in that mode.</summary>
    internal static Dictionary<CheckpointMode, long> MeasurePeaks()
    {
        torch.set_num_threads(1);
        using var step = new TrainingStep();
        var peaks = new Dictionary<CheckpointMode, long>();
        foreach (var mode in Modes)
        {
            step.Run(mode);
            ReleaseFreeHeapPages();
            peaks[mode] = MemoryMonitor.Measure(() => step.Run(mode)).PeakAboveBaselineBytes;
        }
        return peaks;
    }

    /// <summary>
    /// Gives the pages of freed heap memory back to the kernel (malloc_trim(3); glibc releases whole free pages anywhere in the heap).
    /// glibc serves tensors above its mmap threshold from the heap once the threshold has grown, and freed heap pages stay resident:
    /// without this, a step reusing memory an earlier step (or benchmark) left free would add nothing to the resident peak.
    /// </summary>
    private static void ReleaseFreeHeapPages()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        if (OperatingSystem.IsLinux())
            NativeMethods.malloc_trim(UIntPtr.Zero);
    }

    private static class NativeMethods
    {
        [DllImport("libc.so.6", EntryPoint = "malloc_trim")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern int malloc_trim(UIntPtr pad);
    }
}
