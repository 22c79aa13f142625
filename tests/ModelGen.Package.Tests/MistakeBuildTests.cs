using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;

namespace ModelGen.Package.Tests;

/// <summary>
/// The deliberate mistakes, built with the real <c>dotnet build</c> against the packed package: the command-line compiler prints
/// exactly the marked errors and ModelGen warnings, at the marked lines, and no error comes from generated code.
/// </summary>
[Collection(PackageCollection.Name)]
public sealed class MistakeBuildTests(PackageFixture fixture)
{
    // "/path/Clean_M001.cs(9,5): error MG0102: message [/path/Consumer.csproj]"
    private static readonly Regex Line = new(@"^\s*(?<path>[^(\s][^(]*)\((?<line>\d+),\d+\): (?<severity>error|warning) (?<id>[A-Z]+\d+):", RegexOptions.Compiled | RegexOptions.Multiline);

    public static IEnumerable<object[]> Groups => MistakeSources.Groups.Select(g => new object[] { g });

    [Theory]
    [MemberData(nameof(Groups))]
    public void Build_prints_exactly_the_marked_diagnostics(string group)
    {
        var build = fixture.Mistakes(group).Build ?? throw new InvalidOperationException($"Restore failed. {fixture.Mistakes(group).Restore}");
        var reported = Line.Matches(build.Output).Select(m => m.Groups)
            .Where(g => g["severity"].Value == "error" || g["id"].Value.StartsWith("MG", StringComparison.Ordinal))
            .Select(g => $"{Path.GetFileName(g["path"].Value)}({g["line"].Value}): {g["id"].Value}")
            .Distinct().OrderBy(s => s, StringComparer.Ordinal).ToList();
        var expected = MistakeSources.Expected(group);
        var titles = MistakeSources.Titles(group);
        string Describe(string entry) => titles.TryGetValue(entry[..entry.IndexOf('(')], out var title) ? $"{entry}  ({title})" : entry;

        var missing = expected.Except(reported).Select(Describe).ToList();
        var unexpected = reported.Except(expected).Select(Describe).ToList();
        Assert.True(missing.Count == 0 && unexpected.Count == 0,
            $"missing:\n  {string.Join("\n  ", missing)}\nunexpected:\n  {string.Join("\n  ", unexpected)}\n{build}");
        Assert.False(build.Succeeded, "A build with deliberate errors succeeded.");
    }

    [Theory]
    [MemberData(nameof(Groups))]
    public void No_error_comes_from_generated_code(string group)
    {
        var build = fixture.Mistakes(group).Build ?? throw new InvalidOperationException($"Restore failed. {fixture.Mistakes(group).Restore}");
        var generated = Line.Matches(build.Output).Select(m => m.Groups["path"].Value)
            .Where(p => p.EndsWith(".g.cs", StringComparison.Ordinal) || p.Contains("ModelGen.Generators", StringComparison.Ordinal))
            .Distinct().ToList();
        Assert.True(generated.Count == 0, $"Diagnostics in generated files: {string.Join(", ", generated)}\n{build}");
        Assert.DoesNotContain("CS8785", build.Output, StringComparison.Ordinal); // a generator that threw
        Assert.DoesNotContain("AD0001", build.Output, StringComparison.Ordinal); // an analyzer that threw
    }
}
