using System;
using System.Globalization;
using System.Linq;
using Spectre.Console;

namespace ModelGen.Tool.Progress
{
    /// <summary>
    /// Renders <see cref="TrainingProgress"/> reports with Spectre.Console, one line per report: step (and bar), tokens per second,
    /// loss, time left and the measured peak memory per device. The library reports through <see cref="IProgress{T}"/> and never
    /// touches a console; a program that wants this view passes one to its <see cref="TrainingProgressTracker"/>.
    /// </summary>
    public sealed class TrainingProgressView : IProgress<TrainingProgress>
    {
        private const int BarWidth = 20;
        private readonly IAnsiConsole _console;
        private readonly object _gate = new();

        /// <summary>Writes to <paramref name="console"/>, or to <see cref="AnsiConsole.Console"/> when null.</summary>
        public TrainingProgressView(IAnsiConsole? console = null) => _console = console ?? AnsiConsole.Console;

        /// <summary>Writes one line for <paramref name="value"/> (reports from several threads do not interleave).</summary>
        public void Report(TrainingProgress value)
        {
            ArgumentNullException.ThrowIfNull(value);
            var line = Format(value);
            lock (_gate)
                _console.MarkupLine(line);
        }

        /// <summary>The markup line for one report.</summary>
        public static string Format(TrainingProgress value)
        {
            ArgumentNullException.ThrowIfNull(value);
            var invariant = CultureInfo.InvariantCulture;
            var step = value.TotalSteps > 0
                ? string.Create(invariant, $"{Bar(value.Fraction!.Value)} step {value.Step}/{value.TotalSteps}")
                : string.Create(invariant, $"step {value.Step}");
            var parts = new System.Collections.Generic.List<string>
            {
                $"[bold]rank {value.Rank.ToString(invariant)}[/] {step}",
                string.Create(invariant, $"{value.TokensPerSecond:N0} tok/s (avg {value.AverageTokensPerSecond:N0})"),
            };
            if (value.Loss is { } loss)
                parts.Add(string.Create(invariant, $"loss [yellow]{loss:0.0000}[/]"));
            if (value.Remaining is { } remaining)
                parts.Add("left " + Duration(remaining));
            foreach (var peak in value.PeakMemory.OrderBy(p => p.Device))
            {
                var fraction = peak.TotalBytes > 0 ? (double)peak.PeakBytes / peak.TotalBytes : 0;
                var color = fraction >= MemoryMonitor.DefaultThreshold ? "red" : "green";
                parts.Add(string.Create(invariant, $"{Markup.Escape(peak.Name)} peak [{color}]{peak.PeakBytes / (double)(1L << 30):0.0}[/]/{peak.TotalBytes / (double)(1L << 30):0.0} GB"));
            }
            return string.Join(" · ", parts);
        }

        private static string Bar(double fraction)
        {
            var filled = (int)Math.Round(Math.Clamp(fraction, 0, 1) * BarWidth);
            return "[green]" + new string('█', filled) + "[/][grey]" + new string('░', BarWidth - filled) + "[/]";
        }

        private static string Duration(TimeSpan time) => time.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)time.TotalHours}h{time.Minutes:00}m")
            : string.Create(CultureInfo.InvariantCulture, $"{time.Minutes}m{time.Seconds:00}s");
    }
}
