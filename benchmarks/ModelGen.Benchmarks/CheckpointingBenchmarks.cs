using System;
using System.Collections.Generic;
using System.Globalization;
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
            var mode = benchmarkCase.Descriptor.WorkloadMethod.Name switch
            {
                nameof(FullCheckpoint) => CheckpointMode.Full,
                nameof(SelectiveCheckpoint) => CheckpointMode.Selective,
                _ => CheckpointMode.None,
            };
            return saving
                ? (1.0 - _peaks[mode] / (double)_peaks[CheckpointMode.None]).ToString("P1", CultureInfo.InvariantCulture)
                : (_peaks[mode] / (double)(1 << 20)).ToString("0.0", CultureInfo.InvariantCulture);
        }
    }

    /// <summary>Peak bytes above baseline of one training step in each mode.</summary>
    internal static Dictionary<CheckpointMode, long> MeasurePeaks()
    {
        MallocReturnsLargeBlocks();
        torch.set_num_threads(1);
        using var step = new TrainingStep();
        var peaks = new Dictionary<CheckpointMode, long>();
        foreach (var mode in new[] { CheckpointMode.None, CheckpointMode.Full, CheckpointMode.Selective })
        {
            step.Run(mode);
            peaks[mode] = MemoryMonitor.Measure(() => step.Run(mode)).PeakAboveBaselineBytes;
        }
        return peaks;
    }

    /// <summary>
    /// Fixes glibc's mmap threshold at its 128 KiB default (mallopt(3), M_MMAP_THRESHOLD = -3). Left dynamic, glibc raises the threshold
    /// after the first large free, and later tensors come from the heap, whose freed pages stay resident: every mode after the first
    /// would then reuse the first one's pages, and the resident peak would stop measuring what each step allocates.
    /// </summary>
    private static void MallocReturnsLargeBlocks()
    {
        const int MmapThreshold = -3;
        if (OperatingSystem.IsLinux() && NativeMethods.mallopt(MmapThreshold, 128 * 1024) != 1)
            throw new InvalidOperationException("mallopt(M_MMAP_THRESHOLD) failed: resident-memory peaks would not be comparable.");
    }

    private static class NativeMethods
    {
        [DllImport("libc.so.6", EntryPoint = "mallopt")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern int mallopt(int param, int value);
    }
}
