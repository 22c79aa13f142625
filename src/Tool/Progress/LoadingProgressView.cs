using System;
using System.Globalization;
using Spectre.Console;

namespace ModelGen.Tool.Progress
{
    /// <summary>Renders <see cref="LoadingProgress"/> reports with Spectre.Console, one line per report.</summary>
    public sealed class LoadingProgressView : IProgress<LoadingProgress>
    {
        private readonly IAnsiConsole _console;
        private readonly object _gate = new();

        /// <summary>Writes to <paramref name="console"/>, or to <see cref="AnsiConsole.Console"/> when null.</summary>
        public LoadingProgressView(IAnsiConsole? console = null) => _console = console ?? AnsiConsole.Console;

        /// <summary>Writes one line for <paramref name="value"/>.</summary>
        public void Report(LoadingProgress value)
        {
            ArgumentNullException.ThrowIfNull(value);
            var line = Format(value);
            lock (_gate)
                _console.MarkupLine(line);
        }

        /// <summary>The markup line for one report: <c>model.safetensors 40% · 12/30 tensors · 1.2/3.0 GB · 850 MB/s · left 2s</c>.</summary>
        public static string Format(LoadingProgress value)
        {
            ArgumentNullException.ThrowIfNull(value);
            const double Gb = 1L << 30, Mb = 1L << 20;
            var text = Markup.Escape(value.Source);
            if (value.Fraction is { } fraction)
                text += string.Create(CultureInfo.InvariantCulture, $" [green]{fraction * 100:0}%[/]");
            text += value.TotalTensors > 0
                ? string.Create(CultureInfo.InvariantCulture, $" · {value.TensorsLoaded}/{value.TotalTensors} tensors")
                : string.Create(CultureInfo.InvariantCulture, $" · {value.TensorsLoaded} tensors");
            text += value.TotalBytes > 0
                ? string.Create(CultureInfo.InvariantCulture, $" · {value.BytesLoaded / Gb:0.0}/{value.TotalBytes / Gb:0.0} GB")
                : string.Create(CultureInfo.InvariantCulture, $" · {value.BytesLoaded / Gb:0.0} GB");
            text += string.Create(CultureInfo.InvariantCulture, $" · {value.BytesPerSecond / Mb:N0} MB/s");
            if (value.Remaining is { } remaining)
                text += string.Create(CultureInfo.InvariantCulture, $" · left {(int)remaining.TotalSeconds}s");
            return text;
        }
    }
}
