using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Tool.Planning;
using ScottPlot;
using SkiaSharp;

namespace ModelGen.Tool.Charts
{
    /// <summary>
    /// Draws a plan with ScottPlot: one row per estimated scenario, with two panels: the peak of each phase stacked by term (with the
    /// budget line), and the peak against sequence length (log scale) with the budget line and the largest length that fits.
    /// The same drawing goes to SVG (Skia's SVG canvas) or PNG, chosen by the file's extension.
    /// </summary>
    internal static class PlanChart
    {
        /// <summary>Pixel size of one panel.</summary>
        public const int PanelWidth = 640, PanelHeight = 420;

        /// <summary>Writes the chart to <paramref name="path"/> (.svg or .png) through a temporary file, and returns its pixel size.</summary>
        /// <param name="report">The plan.</param>
        /// <param name="path">Where to write.</param>
        /// <param name="fontFile">A .ttf/.otf file for the text; null uses the system's fonts.</param>
        /// <param name="warning">Set when no font is available, so the chart has no text.</param>
        /// <exception cref="ToolException">An unknown extension, nothing to draw, or a font file that cannot be read.</exception>
        public static (int Width, int Height) Write(PlanReport report, string path, string? fontFile, out string? warning)
        {
            var rows = report.Models.SelectMany(m => m.Scenarios.Where(s => s.Estimate is not null).Select(s => (Model: m, Scenario: s))).ToList();
            if (rows.Count == 0)
                throw new ToolException("Nothing to chart: no scenario could be estimated.");
            var font = ChartFile.ResolveFont(fontFile, out warning);
            var width = 2 * PanelWidth;
            var height = rows.Count * PanelHeight;
            ChartFile.Write(path, width, height, canvas => Draw(canvas, rows, font));
            return (width, height);
        }

        private static void Draw(SKCanvas canvas, List<(ModelPlan Model, ScenarioPlan Scenario)> rows, string? font)
        {
            for (var i = 0; i < rows.Count; i++)
            {
                var (model, scenario) = rows[i];
                var top = i * PanelHeight;
                var phases = PhasePlot(model, scenario);
                var sweep = SweepPlot(model, scenario);
                foreach (var plot in new[] { phases, sweep })
                {
                    if (font is not null)
                        plot.Font.Set(font);
                }
                RenderClipped(canvas, phases, new PixelRect(0, PanelWidth, top + PanelHeight, top));
                RenderClipped(canvas, sweep, new PixelRect(PanelWidth, 2 * PanelWidth, top + PanelHeight, top));
            }
        }

        /// <summary>ScottPlot clears the whole canvas before it draws, so each panel is drawn inside its own clip.</summary>
        internal static void RenderClipped(SKCanvas canvas, Plot plot, PixelRect rect)
        {
            canvas.Save();
            canvas.ClipRect(new SKRect(rect.Left, rect.Top, rect.Right, rect.Bottom));
            plot.Render(canvas, rect);
            canvas.Restore();
        }

        private static Plot PhasePlot(ModelPlan model, ScenarioPlan scenario)
        {
            var estimate = scenario.Estimate!;
            var plot = new Plot();
            var palette = new ScottPlot.Palettes.Category10();
            var bars = new List<Bar>();
            var terms = MemoryTerms.All.Where(t => estimate.Phases.Any(p => p.Terms.GetValueOrDefault(t) > 0)).ToList();
            for (var p = 0; p < estimate.Phases.Count; p++)
            {
                var sum = 0.0;
                foreach (var term in terms)
                {
                    var value = Gigabytes.FromBytes(estimate.Phases[p].Terms.GetValueOrDefault(term));
                    if (value > 0)
                        bars.Add(new Bar { Position = p, ValueBase = sum, Value = sum + value, FillColor = palette.GetColor(MemoryTerms.All.ToList().IndexOf(term)), Size = 0.6 });
                    sum += value;
                }
            }
            plot.Add.Bars(bars);
            foreach (var term in terms)
                plot.Legend.ManualItems.Add(new LegendItem { LabelText = term, FillColor = palette.GetColor(MemoryTerms.All.ToList().IndexOf(term)) });
            if (scenario.Budget is { } budget)
            {
                var line = plot.Add.HorizontalLine(budget.Gigabytes);
                line.LinePattern = LinePattern.Dashed;
                line.Color = Colors.Red;
                plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"budget {Breakdown.Budget(budget.Gigabytes)} GB", LineColor = Colors.Red, LinePattern = LinePattern.Dashed, LineWidth = 2 });
            }
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                Enumerable.Range(0, estimate.Phases.Count).Select(i => (double)i).ToArray(),
                estimate.Phases.Select(p => p.Phase == estimate.PeakPhase ? p.Phase + " (peak)" : p.Phase).ToArray());
            plot.Axes.Margins(bottom: 0);
            plot.ShowLegend(Edge.Right); // outside the axes: a tall bar would hide a legend drawn inside
            plot.Title($"{model.Name}: peak per phase, {scenario.Settings.Text}", size: 12);
            plot.YLabel("GB (2^30 bytes)");
            return plot;
        }

        private static Plot SweepPlot(ModelPlan model, ScenarioPlan scenario)
        {
            var plot = new Plot();
            var points = scenario.SequenceSweep;
            var xs = points.Select(p => Math.Log2(p.SequenceLength)).ToArray();
            var ys = points.Select(p => Gigabytes.FromBytes(p.PeakBytes)).ToArray();
            var line = plot.Add.Scatter(xs, ys);
            line.LegendText = "peak";
            if (scenario.Budget is { } budget)
            {
                var limit = plot.Add.HorizontalLine(budget.Gigabytes);
                limit.LinePattern = LinePattern.Dashed;
                limit.Color = Colors.Red;
                limit.LegendText = $"budget {Breakdown.Budget(budget.Gigabytes)} GB";
            }
            if (scenario.MaxSequenceLength is > 0 and var fit)
            {
                var marker = plot.Add.VerticalLine(Math.Log2(fit));
                marker.Color = Colors.Green;
                marker.LegendText = "largest that fits: seq " + fit.ToString(CultureInfo.InvariantCulture);
            }
            var ticks = points.Where(p => (p.SequenceLength & (p.SequenceLength - 1)) == 0).ToList();
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                ticks.Select(p => Math.Log2(p.SequenceLength)).ToArray(),
                ticks.Select(p => Short(p.SequenceLength)).ToArray());
            plot.ShowLegend(Alignment.UpperLeft);
            plot.Title($"{model.Name}: peak against sequence length (batch {scenario.Settings.Batch.ToString(CultureInfo.InvariantCulture)})", size: 12);
            plot.XLabel("sequence length (log scale)");
            plot.YLabel("GB (2^30 bytes)");
            return plot;
        }

        private static string Short(long length) => length >= 1024 && length % 1024 == 0
            ? (length / 1024).ToString(CultureInfo.InvariantCulture) + "k"
            : length.ToString(CultureInfo.InvariantCulture);
    }
}
