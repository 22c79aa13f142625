using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Threading;
using ModelGen.Tool.Charts;
using Spectre.Console;

namespace ModelGen.Tool.Commands
{
    /// <summary>
    /// <c>modelgen monitor</c>: samples device memory with <see cref="MemoryMonitor"/> (NVML, or resident memory without it), prints each
    /// reading and every alert, then the peak per device; <c>--json</c> for the readings as data, <c>--chart</c> for used memory over time.
    /// </summary>
    internal static class MonitorCommand
    {
        /// <summary>Exit code when an alert was raised and <c>--fail-on-alert</c> is given.</summary>
        public const int Alerted = 1;

        public static Command Create(ToolContext context)
        {
            var interval = new Option<double>("--interval") { Description = "Seconds between samples.", DefaultValueFactory = _ => 1.0 };
            var samples = new Option<int>("--samples", "-n") { Description = "Samples to take.", DefaultValueFactory = _ => 10 };
            var threshold = new Option<double>("--threshold") { Description = "Alert above this fraction of a device's memory.", DefaultValueFactory = _ => MemoryMonitor.DefaultThreshold };
            var nvml = new Option<string?>("--nvml") { Description = $"The NVML library to load (default: ${MemoryMonitor.NvmlLibraryVariable}, else libnvidia-ml.so.1)." };
            var resident = new Option<bool>("--resident") { Description = "Read this process's resident memory, not NVML." };
            var requireNvml = new Option<bool>("--require-nvml") { Description = "Fail (exit 2) when NVML cannot be used, instead of falling back to resident memory." };
            var json = new Option<bool>("--json") { Description = "Write the readings as JSON." };
            var chart = new Option<string?>("--chart") { Description = "Draw used memory over time to this .svg or .png file." };
            var failOnAlert = new Option<bool>("--fail-on-alert") { Description = "Exit with 1 when a device crossed the threshold." };
            var command = new Command("monitor", "Sample device memory (NVML when the NVIDIA driver is there, resident memory otherwise), with threshold alerts.")
            {
                interval, samples, threshold, nvml, resident, requireNvml, json, chart, failOnAlert,
            };
            command.SetAction(parse => context.Guard(() => Run(context, new Settings(
                parse.GetValue(interval), parse.GetValue(samples), parse.GetValue(threshold), parse.GetValue(nvml), parse.GetValue(resident),
                parse.GetValue(requireNvml), parse.GetValue(json), parse.GetValue(chart), parse.GetValue(failOnAlert)))));
            return command;
        }

        internal sealed record Settings(double Interval, int Samples, double Threshold, string? Nvml, bool Resident, bool RequireNvml, bool Json, string? Chart, bool FailOnAlert);

        internal static int Run(ToolContext context, Settings settings)
        {
            if (!(settings.Interval >= 0) || double.IsInfinity(settings.Interval))
                throw new ToolException("--interval must be zero or more seconds.");
            if (settings.Samples <= 0)
                throw new ToolException("--samples must be at least 1.");
            if (!(settings.Threshold > 0 && settings.Threshold <= 1))
                throw new ToolException("--threshold is a fraction above 0 and at most 1 (e.g. 0.85).");
            MemoryMonitor monitor;
            try
            {
                monitor = MemoryMonitor.Open(new MemoryMonitorOptions { NvmlLibrary = settings.Nvml, ResidentOnly = settings.Resident, Threshold = settings.Threshold });
            }
            catch (PlatformNotSupportedException e)
            {
                throw new ToolException(e.Message);
            }
            using (monitor)
            {
                if (settings.RequireNvml && monitor.Source != MemorySource.Nvml)
                    throw new ToolException($"NVML is not available: {monitor.NvmlUnavailableReason}.");
                var alerts = new List<MemoryAlert>();
                monitor.Alert += (_, alert) => alerts.Add(alert);
                if (!settings.Json)
                {
                    var source = monitor.Source == MemorySource.Nvml
                        ? $"NVML, {monitor.DeviceCount} device(s)"
                        : $"resident memory of this process against host RAM (NVML: {monitor.NvmlUnavailableReason})";
                    context.Console.MarkupLineInterpolated($"reading {source}; alert above {settings.Threshold:P0}");
                }
                for (var i = 0; i < settings.Samples; i++)
                {
                    if (i > 0 && settings.Interval > 0)
                        Thread.Sleep(TimeSpan.FromSeconds(settings.Interval));
                    var before = alerts.Count;
                    var readings = monitor.Sample();
                    if (settings.Json)
                        continue;
                    foreach (var sample in readings)
                        context.Console.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"{sample.Time:HH:mm:ss.fff}  {sample.Name}: {Gb(sample.UsedBytes)} / {Gb(sample.TotalBytes)} GB ({sample.Fraction:P1})");
                    foreach (var alert in alerts.Skip(before))
                        context.Console.MarkupLineInterpolated($"[red]alert[/]: {alert}");
                }
                var history = monitor.History;
                if (settings.Json)
                {
                    context.Out.WriteLine(JsonSerializer.Serialize(new
                    {
                        source = monitor.Source.ToString(),
                        nvmlUnavailableReason = monitor.NvmlUnavailableReason,
                        threshold = settings.Threshold,
                        devices = monitor.DeviceCount,
                        samples = history.Select(s => new { time = s.Time, device = s.Device, name = s.Name, usedBytes = s.UsedBytes, totalBytes = s.TotalBytes }),
                        alerts = alerts.Select(a => new { time = a.Sample.Time, device = a.Sample.Device, usedBytes = a.Sample.UsedBytes, totalBytes = a.Sample.TotalBytes }),
                    }, new JsonSerializerOptions { WriteIndented = true }));
                }
                else
                {
                    foreach (var (device, peak) in monitor.PeakUsedBytes().OrderBy(p => p.Key))
                    {
                        var name = history.First(s => s.Device == device).Name;
                        context.Console.MarkupLineInterpolated($"peak {name}: {Gb(peak)} GB");
                    }
                }
                if (settings.Chart is { } path)
                {
                    var size = MonitorChart.Write(history, settings.Threshold, path, out var warning);
                    if (warning is not null)
                        context.Error.WriteLine("warning: " + warning);
                    if (!settings.Json)
                        context.Console.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"chart: {path} ({size.Width}×{size.Height})");
                }
                return settings.FailOnAlert && alerts.Count > 0 ? Alerted : 0;
            }
        }

        private static string Gb(long bytes) => (bytes / (double)(1L << 30)).ToString("0.00", CultureInfo.InvariantCulture);
    }
}
