using System;
using System.IO;
using ScottPlot;
using SkiaSharp;

namespace ModelGen.Tool.Charts
{
    /// <summary>Writes a drawing to .svg (Skia's SVG canvas) or .png, through a temporary file so no half-written chart is left.</summary>
    internal static class ChartFile
    {
        private const string CustomFont = "ModelGen chart font";

        /// <summary>Draws with <paramref name="draw"/> onto a white canvas of the given size and writes it to <paramref name="path"/>.</summary>
        /// <exception cref="ToolException">The extension is neither .svg nor .png.</exception>
        public static void Write(string path, int width, int height, Action<SKCanvas> draw)
        {
            var extension = Path.GetExtension(path).ToLowerInvariant();
            if (extension is not (".svg" or ".png"))
                throw new ToolException($"--chart {path}: the file must end in .svg or .png.");
            var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
            Directory.CreateDirectory(directory);
            var temporary = Path.Combine(directory, "." + Path.GetFileName(path) + ".tmp");
            try
            {
                using (var stream = File.Create(temporary))
                {
                    if (extension == ".svg")
                    {
                        using var canvas = SKSvgCanvas.Create(new SKRect(0, 0, width, height), stream);
                        canvas.Clear(SKColors.White);
                        draw(canvas);
                    }
                    else
                    {
                        using var surface = SKSurface.Create(new SKImageInfo(width, height)) ?? throw new ToolException("Skia could not create a drawing surface.");
                        surface.Canvas.Clear(SKColors.White);
                        draw(surface.Canvas);
                        using var image = surface.Snapshot();
                        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
                        data.SaveTo(stream);
                    }
                }
                File.Move(temporary, path, overwrite: true);
            }
            finally
            {
                if (File.Exists(temporary))
                    File.Delete(temporary);
            }
        }

        /// <summary>
        /// The font family to draw with: <paramref name="fontFile"/> when given, else the system's. SkiaSharp's dependency-free native
        /// build finds fonts only in the usual system folders; a minimal container has none and the chart would lose its text
        /// silently, so <paramref name="warning"/> says so.
        /// </summary>
        /// <exception cref="ToolException">The font file does not exist.</exception>
        public static string? ResolveFont(string? fontFile, out string? warning)
        {
            warning = null;
            if (fontFile is not null)
            {
                if (!File.Exists(fontFile))
                    throw new ToolException($"--font {fontFile}: no such file.");
                Fonts.AddFontFile(CustomFont, fontFile);
                return CustomFont;
            }
            if (string.IsNullOrEmpty(Fonts.Default))
                warning = "No font found on this system, so the chart has no text. Install a font package (Debian: fonts-dejavu-core) or pass --font FILE.ttf.";
            return null;
        }
    }
}
