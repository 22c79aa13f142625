using System;
using System.IO;
using System.Linq;
using System.Xml.Linq;
using SkiaSharp;

namespace ModelGen.Tool.Tests;

public sealed class ChartTests
{
    /// <summary>Decodes a PNG and returns its size and the share of pixels that are not white.</summary>
    internal static (int Width, int Height, double Inked) Inspect(string png)
    {
        using var bitmap = SKBitmap.Decode(png) ?? throw new InvalidOperationException($"{png} is not an image");
        var inked = 0L;
        for (var y = 0; y < bitmap.Height; y += 2)
        {
            for (var x = 0; x < bitmap.Width; x += 2)
            {
                var c = bitmap.GetPixel(x, y);
                if (c.Red < 240 || c.Green < 240 || c.Blue < 240)
                    inked++;
            }
        }
        return (bitmap.Width, bitmap.Height, inked / (double)((bitmap.Width / 2) * (bitmap.Height / 2)));
    }

    [Fact]
    public void Png_chart_has_one_row_of_two_panels_per_scenario_and_is_drawn_on()
    {
        var path = Path.Combine(Path.GetTempPath(), $"modelgen-plan-{Guid.NewGuid():N}.png");
        try
        {
            var (exit, _, error) = ToolRun.Run("plan", ToolRun.Sample("Llama"), "--chart", path);

            Assert.True(exit == 0, error);
            var (width, height, inked) = Inspect(path);
            Assert.Equal((2 * 640, 2 * 420), (width, height)); // two [VramBudget]s
            Assert.InRange(inked, 0.03, 0.9);
            // Both panels are drawn (the second plot must not wipe the first): each half has ink.
            using var bitmap = SKBitmap.Decode(path);
            foreach (var left in new[] { 0, 640 })
            {
                var halfInk = Enumerable.Range(0, 200).Count(i => bitmap.GetPixel(left + 60 + (i * 2), 200).Red < 200 || bitmap.GetPixel(left + 320, 40 + i).Red < 200);
                Assert.True(halfInk > 0, $"the panel at x={left} is blank");
            }
            Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(path)!, "." + Path.GetFileName(path) + ".tmp")));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Svg_chart_is_a_vector_drawing_of_the_right_size_with_its_text_or_a_warning_that_there_is_no_font()
    {
        var path = Path.Combine(Path.GetTempPath(), $"modelgen-plan-{Guid.NewGuid():N}.svg");
        try
        {
            var (exit, output, error) = ToolRun.Run("plan", ToolRun.Fixture("gpt2.config.json"), "--gpu", "RTX 4090", "--chart", path);

            Assert.True(exit == 0, error);
            Assert.Contains($"chart: {path} (1280×420)", output, StringComparison.Ordinal);
            var svg = XDocument.Load(path).Root!;
            Assert.Equal("svg", svg.Name.LocalName);
            Assert.Equal("1280", (string?)svg.Attribute("width"));
            Assert.Equal("420", (string?)svg.Attribute("height"));
            Assert.True(svg.Descendants().Count(e => e.Name.LocalName == "path") > 20);
            // Skia's SVG canvas writes text as <text> when it has a font; without one the tool says so rather than drop it silently.
            var texts = svg.Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value).ToList();
            if (error.Contains("No font found", StringComparison.Ordinal))
                Assert.Empty(texts);
            else
                // An RTX 4090 gives a process 23.64 GB of its 24 (docs/gpu-catalog.md): the budget line is what can be used.
                Assert.Contains(texts, t => t.Contains("budget 23.6 GB", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
