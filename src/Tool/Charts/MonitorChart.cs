using System.Collections.Generic;
using System.Linq;
using ScottPlot;

namespace ModelGen.Tool.Charts
{
    /// <summary>Used memory of each device over time, with its threshold line (the threshold times the device's memory).</summary>
    internal static class MonitorChart
    {
        public const int Width = 900, Height = 450;

        /// <exception cref="ToolException">No samples, or a bad path (see <see cref="ChartFile.Write"/>).</exception>
        public static (int Width, int Height) Write(IReadOnlyList<MemorySample> history, double threshold, string path, out string? warning)
        {
            if (history.Count == 0)
                throw new ToolException("Nothing to chart: no memory sample was taken.");
            var font = ChartFile.ResolveFont(null, out warning);
            var start = history[0].Time;
            var plot = new Plot();
            if (font is not null)
                plot.Font.Set(font);
            foreach (var device in history.GroupBy(s => s.Device).OrderBy(g => g.Key))
            {
                var samples = device.ToList();
                var line = plot.Add.Scatter(
                    samples.Select(s => (s.Time - start).TotalSeconds).ToArray(),
                    samples.Select(s => s.UsedBytes / (double)(1L << 30)).ToArray());
                line.LegendText = samples[0].Name;
                var limit = plot.Add.HorizontalLine(threshold * samples[0].TotalBytes / (double)(1L << 30));
                limit.LinePattern = LinePattern.Dashed;
                limit.Color = line.Color;
                limit.LegendText = $"{samples[0].Name}: {threshold:P0} threshold";
            }
            plot.ShowLegend(Alignment.UpperLeft);
            plot.Title($"Memory in use ({history[0].Source})");
            plot.XLabel("seconds");
            plot.YLabel("GB (2^30 bytes)");
            ChartFile.Write(path, Width, Height, canvas => plot.Render(canvas, new PixelRect(0, Width, Height, 0)));
            return (Width, Height);
        }
    }
}
