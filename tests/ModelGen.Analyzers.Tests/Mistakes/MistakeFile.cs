using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;

namespace ModelGen.Analyzers.Tests.Mistakes
{
    /// <summary>
    /// One deliberate mistake: a consumer source whose lines end with <c>//~ MG0102 CS0117</c> where a diagnostic of that id must
    /// be reported. The same files are built by a real <c>dotnet build</c> in ModelGen.Package.Tests.
    /// </summary>
    internal sealed record MistakeFile(string Group, string Name, string Title, string Text)
    {
        private static readonly Regex Marker = new(@"//~((?:\s+(?:MG|CS)\d{4})+)\s*$", RegexOptions.Compiled);

        /// <summary>Where the files are copied beside the test assembly.</summary>
        public static string Folder => Path.Combine(AppContext.BaseDirectory, "Mistakes");

        /// <summary>Every mistake file, by group (Clean, CSharpDeclarations, CSharpBodies: see ModelGen.Package.Tests/MistakeSources.cs).</summary>
        public static IReadOnlyList<MistakeFile> All() =>
            Directory.GetDirectories(Folder).OrderBy(d => d, StringComparer.Ordinal)
                .SelectMany(group => Directory.GetFiles(group, "*.cs").OrderBy(f => f, StringComparer.Ordinal)
                    .Select(file => Load(Path.GetFileName(group), file)))
                .ToList();

        /// <summary>Loads one file.</summary>
        public static MistakeFile Load(string group, string path)
        {
            var text = File.ReadAllText(path);
            var title = text.Split('\n')[0].TrimStart('/', ' ').Trim();
            return new MistakeFile(group, Path.GetFileNameWithoutExtension(path), title, text);
        }

        /// <summary>The expected diagnostics as <c>line: id</c> (1-based lines), sorted.</summary>
        public IReadOnlyList<string> Expected()
        {
            var expected = new List<string>();
            var lines = Text.Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                var match = Marker.Match(lines[i].TrimEnd('\r'));
                if (!match.Success)
                    continue;
                foreach (var id in match.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    expected.Add($"{i + 1}: {id}");
            }
            expected.Sort(StringComparer.Ordinal);
            return expected;
        }
    }
}
