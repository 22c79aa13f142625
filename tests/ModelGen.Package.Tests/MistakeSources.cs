using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;

namespace ModelGen.Package.Tests;

/// <summary>
/// The deliberate mistakes under Mistakes/{group}/: each file's lines end with <c>//~ MG0102 CS0117</c> where the build must report
/// that id. Each group is one consumer build, because the command-line compiler stops at the first stage with errors: <c>Clean</c>
/// holds mistakes without a C# error (so it runs the analyzers and compiles method bodies), <c>CSharpDeclarations</c> those with a
/// C# error in a declaration (which stops it before method bodies and analyzers), <c>CSharpBodies</c> those with a C# error in a
/// method body (which stops it before analyzers). ModelGen's generator-reported errors must appear in all three.
/// </summary>
internal static class MistakeSources
{
    private static readonly Regex Marker = new(@"//~((?:\s+(?:MG|CS)\d{4})+)\s*$", RegexOptions.Compiled);

    /// <summary>The groups, one build each.</summary>
    public static readonly string[] Groups = ["Clean", "CSharpDeclarations", "CSharpBodies"];

    private static string Folder(string group) => Path.Combine(AppContext.BaseDirectory, "Mistakes", group);

    /// <summary>The group's files as (name in the consumer project, path to copy): <c>Clean_M001.cs</c>.</summary>
    public static IEnumerable<(string Name, string Path)> Files(string group) =>
        Directory.GetFiles(Folder(group), "*.cs").OrderBy(f => f, StringComparer.Ordinal).Select(f => ($"{group}_{Path.GetFileName(f)}", f));

    /// <summary>Every expected diagnostic of the group as <c>file(line): id</c>.</summary>
    public static IReadOnlyList<string> Expected(string group)
    {
        var expected = new List<string>();
        foreach (var (name, path) in Files(group))
        {
            var lines = File.ReadAllLines(path);
            for (var i = 0; i < lines.Length; i++)
            {
                var match = Marker.Match(lines[i]);
                if (match.Success)
                    expected.AddRange(match.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(id => $"{name}({i + 1}): {id}"));
            }
        }
        return expected.Distinct().OrderBy(e => e, StringComparer.Ordinal).ToList();
    }

    /// <summary>The title (first comment line) of every file, by project file name.</summary>
    public static IReadOnlyDictionary<string, string> Titles(string group) =>
        Files(group).ToDictionary(f => f.Name, f => File.ReadLines(f.Path).First().TrimStart('/', ' '));
}
