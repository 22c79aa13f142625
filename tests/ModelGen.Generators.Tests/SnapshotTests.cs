using System.Collections.Generic;
using System.Linq;

namespace ModelGen.Generators.Tests;

public class SnapshotTests
{
    public static IEnumerable<object[]> CaseNames => Cases.All.Keys.Select(k => new object[] { k });

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Generated_source_matches_the_approved_snapshot(string name)
    {
        var (result, _) = GeneratorHarness.Run(Cases.Source(name));
        var generated = result.Results.Single().GeneratedSources.OrderBy(s => s.HintName, System.StringComparer.Ordinal).ToList();
        Assert.NotEmpty(generated);
        foreach (var source in generated)
            Snapshot.Match(name + "." + source.HintName.Replace(".g.cs", ""), source.SourceText.ToString());
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Generated_code_compiles_without_warnings_under_nullable(string name)
    {
        var (_, output) = GeneratorHarness.Run(Cases.Source(name));
        Assert.Empty(GeneratorHarness.Problems(output));
    }
}
