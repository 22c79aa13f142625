using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;

namespace ModelGen.Tool.Tests.Nvml;

/// <summary>
/// The NVML path of <see cref="MemoryMonitor"/> against a stand-in libnvidia-ml built with gcc, and the fallback when NVML is
/// missing or broken. One class, so tests that read the process-wide MODELGEN_NVML_LIBRARY variable never run in parallel.
/// </summary>
public sealed class MemoryMonitorNvmlTests
{
    private const long Gb = 1L << 30;

    [Fact]
    public void Reads_every_device_through_nvml()
    {
        using var nvml = new FakeNvml();
        nvml.SetDevices((10 * Gb, 80 * Gb, "Fake H100"), (20 * Gb, 40 * Gb, "Fake A100"));
        using var monitor = MemoryMonitor.Open(new MemoryMonitorOptions { NvmlLibrary = nvml.Library });

        var samples = monitor.Sample();

        Assert.Equal(MemorySource.Nvml, monitor.Source);
        Assert.Null(monitor.NvmlUnavailableReason);
        Assert.Equal(2, monitor.DeviceCount);
        Assert.Equal(new[] { (0, "Fake H100", 10 * Gb, 80 * Gb), (1, "Fake A100", 20 * Gb, 40 * Gb) },
            samples.Select(s => (s.Device, s.Name, s.UsedBytes, s.TotalBytes)));
        Assert.All(samples, s => Assert.Equal(MemorySource.Nvml, s.Source));
        Assert.Equal(0.5, samples[1].Fraction);
    }

    [Fact]
    public void Alerts_once_per_crossing_of_the_default_threshold()
    {
        using var nvml = new FakeNvml();
        nvml.SetDevices((0, 100 * Gb, "Fake"));
        using var monitor = MemoryMonitor.Open(new MemoryMonitorOptions { NvmlLibrary = nvml.Library });
        var alerts = new List<MemoryAlert>();
        monitor.Alert += (_, alert) => alerts.Add(alert);

        Assert.Equal(0.85, monitor.Threshold);
        foreach (var used in new[] { 50, 84, 86, 95, 60, 90 })
        {
            nvml.SetDevices((used * Gb, 100 * Gb, "Fake"));
            monitor.Sample();
        }

        // Up at 86 (not again at 95, still above), back below at 60, up again at 90.
        Assert.Equal(new[] { 86 * Gb, 90 * Gb }, alerts.Select(a => a.Sample.UsedBytes));
        Assert.All(alerts, a => Assert.Equal(0.85, a.Threshold));
        Assert.Contains("above the 85% threshold", alerts[0].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Keeps_a_bounded_history_and_the_peak_per_device()
    {
        using var nvml = new FakeNvml();
        nvml.SetDevices((0, 16 * Gb, "A"), (0, 16 * Gb, "B"));
        using var monitor = MemoryMonitor.Open(new MemoryMonitorOptions { NvmlLibrary = nvml.Library, HistoryCapacity = 6, Threshold = 0.99 });
        foreach (var used in new[] { 1, 7, 3, 2 })
        {
            nvml.SetDevices((used * Gb, 16 * Gb, "A"), (2 * used * Gb, 16 * Gb, "B"));
            monitor.Sample();
        }

        Assert.Equal(6, monitor.History.Count); // 8 readings, the oldest 2 dropped
        Assert.Equal(new[] { 7, 14, 3, 6, 2, 4 }, monitor.History.Select(s => (int)(s.UsedBytes / Gb)));
        Assert.Equal(7 * Gb, monitor.PeakUsedBytes()[0]);
        Assert.Equal(14 * Gb, monitor.PeakUsedBytes()[1]);
    }

    [Fact]
    public void Samples_on_a_timer_until_stopped()
    {
        using var nvml = new FakeNvml();
        nvml.SetDevices((Gb, 8 * Gb, "Fake"));
        using var monitor = MemoryMonitor.Open(new MemoryMonitorOptions { NvmlLibrary = nvml.Library });

        monitor.Start(TimeSpan.FromMilliseconds(10));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (monitor.History.Count < 3 && DateTime.UtcNow < deadline)
            Thread.Sleep(10);
        monitor.Stop();
        var count = monitor.History.Count;
        Thread.Sleep(100);

        Assert.True(count >= 3, $"only {count} samples in 10 s");
        Assert.Equal(count, monitor.History.Count);
    }

    [Fact]
    public void A_missing_nvml_falls_back_to_resident_memory_and_says_why()
    {
        using var monitor = MemoryMonitor.Open(new MemoryMonitorOptions { NvmlLibrary = "/nonexistent/libnvidia-ml.so.1" });

        var sample = Assert.Single(monitor.Sample());

        Assert.Equal(MemorySource.ResidentMemory, monitor.Source);
        Assert.Contains("/nonexistent/libnvidia-ml.so.1 could not be loaded", monitor.NvmlUnavailableReason, StringComparison.Ordinal);
        Assert.Equal("host", sample.Name);
        Assert.InRange(sample.UsedBytes, 1L << 20, sample.TotalBytes); // this process's resident set, within the host's RAM
        Assert.Equal(MemoryMonitor.HostMemoryBytes(), sample.TotalBytes);
    }

    [Fact]
    public void An_nvml_whose_init_fails_falls_back_with_nvmls_own_error_text()
    {
        using var nvml = new FakeNvml("INIT_RESULT=9");
        using var monitor = MemoryMonitor.Open(new MemoryMonitorOptions { NvmlLibrary = nvml.Library });

        Assert.Equal(MemorySource.ResidentMemory, monitor.Source);
        Assert.Equal("nvmlInit_v2 failed: Driver Not Loaded (NVML error 9)", monitor.NvmlUnavailableReason);
    }

    [Fact]
    public void A_library_without_the_memory_exports_falls_back()
    {
        using var nvml = new FakeNvml("ONLY_INIT");
        using var monitor = MemoryMonitor.Open(new MemoryMonitorOptions { NvmlLibrary = nvml.Library });

        Assert.Equal(MemorySource.ResidentMemory, monitor.Source);
        Assert.Contains("lacks one of nvmlInit_v2", monitor.NvmlUnavailableReason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_environment_variable_names_the_library_and_resident_only_skips_it()
    {
        using var nvml = new FakeNvml();
        nvml.SetDevices((Gb, 8 * Gb, "From variable"));
        Environment.SetEnvironmentVariable(MemoryMonitor.NvmlLibraryVariable, nvml.Library);
        try
        {
            using (var monitor = MemoryMonitor.Open())
                Assert.Equal("From variable", monitor.Sample().Single().Name);
            using (var resident = MemoryMonitor.Open(new MemoryMonitorOptions { ResidentOnly = true }))
                Assert.Equal(MemorySource.ResidentMemory, resident.Source);
        }
        finally
        {
            Environment.SetEnvironmentVariable(MemoryMonitor.NvmlLibraryVariable, null);
        }
    }

    [Fact]
    public void An_nvml_without_devices_falls_back()
    {
        using var nvml = new FakeNvml();
        using var monitor = MemoryMonitor.Open(new MemoryMonitorOptions { NvmlLibrary = nvml.Library });

        Assert.Equal(MemorySource.ResidentMemory, monitor.Source);
        Assert.Equal("NVML sees no GPU", monitor.NvmlUnavailableReason);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void A_threshold_outside_0_to_1_is_refused(double threshold)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MemoryMonitor.Open(new MemoryMonitorOptions { Threshold = threshold, ResidentOnly = true }));
    }

    [Fact]
    public void Monitor_command_reads_nvml_and_writes_json_and_a_chart()
    {
        using var nvml = new FakeNvml();
        nvml.SetDevices((70 * Gb, 80 * Gb, "Fake H100"), (Gb, 24 * Gb, "Fake 4090"));
        var chart = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"modelgen-monitor-{Guid.NewGuid():N}.png");
        try
        {
            var (exit, output, error) = ToolRun.Run("monitor", "--nvml", nvml.Library, "--samples", "3", "--interval", "0", "--json", "--chart", chart, "--fail-on-alert");

            Assert.Equal(1, exit); // 70/80 = 0.875 is above 0.85
            var json = JsonNode.Parse(output)!;
            Assert.Equal("Nvml", (string)json["source"]!);
            Assert.Equal(2, (int)json["devices"]!);
            Assert.Equal(6, json["samples"]!.AsArray().Count);
            Assert.Single(json["alerts"]!.AsArray());
            var (width, height, _) = ChartTests.Inspect(chart);
            Assert.Equal((900, 450), (width, height));
            Assert.True(error.Length == 0 || error.Contains("No font found", StringComparison.Ordinal), error);
        }
        finally
        {
            System.IO.File.Delete(chart);
        }
    }

    [Fact]
    public void Monitor_command_prints_readings_and_fails_when_nvml_is_required_but_missing()
    {
        var (exit, output, _) = ToolRun.Run("monitor", "--nvml", "/nonexistent/nvml.so", "--samples", "2", "--interval", "0");
        Assert.Equal(0, exit);
        Assert.Contains("resident memory of this process against host RAM", output, StringComparison.Ordinal);
        Assert.Contains("peak host: ", output, StringComparison.Ordinal);

        var (required, _, error) = ToolRun.Run("monitor", "--nvml", "/nonexistent/nvml.so", "--require-nvml");
        Assert.Equal(2, required);
        Assert.Contains("NVML is not available", error, StringComparison.Ordinal);
    }
}
