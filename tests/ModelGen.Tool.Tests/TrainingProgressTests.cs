using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Tool.Tests.Nvml;

namespace ModelGen.Tool.Tests;

public sealed class TrainingProgressTests
{
    /// <summary>A clock the test moves by hand.</summary>
    private sealed class ManualClock : TimeProvider
    {
        public long Ticks { get; set; }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Ticks;

        public void Advance(TimeSpan time) => Ticks += time.Ticks;
    }

    /// <summary>Collects reports synchronously (Progress&lt;T&gt; would post them to the thread pool).</summary>
    private sealed class Recorder : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Reports { get; } = new();

        public void Report(TrainingProgress value) => Reports.Add(value);
    }

    [Fact]
    public void Reports_steps_rates_loss_and_time_left()
    {
        var clock = new ManualClock();
        var recorder = new Recorder();
        var tracker = new TrainingProgressTracker(recorder, totalSteps: 4, rank: 1, time: clock);

        clock.Advance(TimeSpan.FromSeconds(2));
        tracker.StepCompleted(tokens: 4096, loss: 3.5);
        clock.Advance(TimeSpan.FromSeconds(1));
        var second = tracker.StepCompleted(tokens: 4096, loss: 3.25);

        Assert.Equal(2, recorder.Reports.Count);
        Assert.Equal(1, second.Rank);
        Assert.Equal(2, second.Step);
        Assert.Equal(8192, second.Tokens);
        Assert.Equal(4096.0, second.TokensPerSecond);          // the last step: 4096 tokens in 1 s
        Assert.Equal(8192.0 / 3, second.AverageTokensPerSecond, 9); // since the start: 8192 tokens in 3 s
        Assert.Equal(3.25, second.Loss);
        Assert.Equal(0.5, second.Fraction);
        Assert.Equal(TimeSpan.FromSeconds(3), second.Remaining);  // 2 steps left at 1.5 s a step
        Assert.Empty(second.PeakMemory);
    }

    [Fact]
    public void Open_ended_runs_have_no_fraction_and_no_time_left()
    {
        var clock = new ManualClock();
        var report = new TrainingProgressTracker(new Recorder(), time: clock).StepCompleted(10);

        Assert.Null(report.Fraction);
        Assert.Null(report.Remaining);
        Assert.Equal(0, report.TokensPerSecond); // no time passed: no rate rather than infinity
        Assert.Null(report.Loss);
    }

    [Fact]
    public void With_a_monitor_each_report_carries_the_measured_peak_per_device()
    {
        const long Gb = 1L << 30;
        using var nvml = new FakeNvml();
        nvml.SetDevices((5 * Gb, 80 * Gb, "GPU0"), (6 * Gb, 80 * Gb, "GPU1"));
        using var monitor = MemoryMonitor.Open(new MemoryMonitorOptions { NvmlLibrary = nvml.Library });
        var tracker = new TrainingProgressTracker(new Recorder(), totalSteps: 3, monitor: monitor, time: new ManualClock());

        tracker.StepCompleted(1);
        nvml.SetDevices((9 * Gb, 80 * Gb, "GPU0"), (2 * Gb, 80 * Gb, "GPU1"));
        var report = tracker.StepCompleted(1);

        Assert.Equal(new[] { (0, "GPU0", 9 * Gb), (1, "GPU1", 6 * Gb) }, report.PeakMemory.Select(p => (p.Device, p.Name, p.PeakBytes)));
        Assert.All(report.PeakMemory, p => Assert.Equal(MemorySource.Nvml, p.Source));
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        Assert.Throws<ArgumentNullException>(() => new TrainingProgressTracker(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingProgressTracker(new Recorder(), totalSteps: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingProgressTracker(new Recorder()).StepCompleted(-5));
    }
}

public sealed class TrainingProgressViewTests
{
    [Fact]
    public void Renders_step_bar_rate_loss_time_left_and_peak_memory_on_one_line()
    {
        using var output = new System.IO.StringWriter();
        var console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
        {
            Out = new Spectre.Console.AnsiConsoleOutput(output),
            Ansi = Spectre.Console.AnsiSupport.No,
            ColorSystem = Spectre.Console.ColorSystemSupport.NoColors,
        });
        console.Profile.Width = 400;
        var view = new ModelGen.Tool.Progress.TrainingProgressView(console);

        view.Report(new TrainingProgress(2, 5, 20, 40960, 12345.6, 10000, 2.5, TimeSpan.FromSeconds(50),
            new[] { new DevicePeak(0, "NVIDIA H100", 70L << 30, 80L << 30, MemorySource.Nvml) }));

        var line = output.ToString().TrimEnd();
        Assert.Equal("rank 2 █████░░░░░░░░░░░░░░░ step 5/20 · 12,346 tok/s (avg 10,000) · loss 2.5000 · left 2m30s · NVIDIA H100 peak 70.0/80.0 GB", line);
    }
}

public sealed class LoadingProgressTests
{
    private sealed class Clock : TimeProvider
    {
        public long Ticks { get; set; }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Ticks;
    }

    private sealed class Recorder : IProgress<LoadingProgress>
    {
        public List<LoadingProgress> Reports { get; } = new();

        public void Report(LoadingProgress value) => Reports.Add(value);
    }

    [Fact]
    public void Reports_tensors_bytes_rate_and_time_left_and_renders_them()
    {
        var clock = new Clock();
        var recorder = new Recorder();
        var tracker = new LoadingProgressTracker(recorder, "model.safetensors", totalTensors: 4, totalBytes: 4L << 30, time: clock);

        clock.Ticks = TimeSpan.FromSeconds(2).Ticks;
        tracker.TensorLoaded(1L << 30);
        var report = tracker.TensorLoaded(1L << 30);

        Assert.Equal(2, recorder.Reports.Count);
        Assert.Equal((2L, 2L << 30), (report.TensorsLoaded, report.BytesLoaded));
        Assert.Equal(0.5, report.Fraction);
        Assert.Equal(1024.0 * 1024 * 1024, report.BytesPerSecond); // 2 GB in 2 s
        Assert.Equal(TimeSpan.FromSeconds(2), report.Remaining);
        Assert.Equal("model.safetensors 50% · 2/4 tensors · 2.0/4.0 GB · 1,024 MB/s · left 2s", ModelGen.Tool.Progress.LoadingProgressView.Format(report).Replace("[green]", "", StringComparison.Ordinal).Replace("[/]", "", StringComparison.Ordinal));
    }

    [Fact]
    public void Unknown_totals_give_no_fraction_and_no_time_left()
    {
        var report = new LoadingProgressTracker(new Recorder(), "state_dict", time: new Clock()).TensorLoaded(10);

        Assert.Null(report.Fraction);
        Assert.Null(report.Remaining);
        Assert.Equal(0, report.BytesPerSecond);
    }
}
