using System;
using System.IO;
using System.Linq;

namespace ModelGen.Package.Tests;

/// <summary>A fresh project restores the packed ModelGen offline, builds, gets generated code and MG0001.</summary>
[Collection(PackageCollection.Name)]
public sealed class ConsumerProjectTests(PackageFixture fixture)
{
    [Fact]
    public void Fresh_project_restores_the_packed_package_offline()
    {
        var consumer = fixture.Consumer;
        var version = fixture.Package.Version;

        Assert.True(consumer.Restore.Succeeded, consumer.Restore.ToString());
        // Extracted into the project's own packages folder means it came from the new feed, not from a stale copy.
        var extracted = Path.Combine(consumer.PackagesFolder, "modelgen", version);
        Assert.True(Directory.Exists(extracted), $"ModelGen {version} was not restored from the freshly packed feed into {extracted}. {consumer.Restore}");
    }

    [Fact]
    public void Fresh_project_builds()
    {
        var build = BuildResult();

        Assert.True(build.Succeeded, build.ToString());
    }

    [Fact]
    public void Generator_writes_the_model_source()
    {
        var build = BuildResult();

        var generated = fixture.Consumer.GeneratedFiles("Mlp.g.cs");

        Assert.True(generated.Count == 1, $"Expected one generated file ending with Mlp.g.cs under {fixture.Consumer.GeneratedFilesFolder}, found {generated.Count}. {build}");
    }

    [Fact]
    public void Analyzer_reports_the_budget_overrun_in_the_build_output()
    {
        var build = BuildResult();

        var warning = build.Output.Split('\n').FirstOrDefault(line => line.Contains("warning MG0001", StringComparison.Ordinal));

        Assert.True(warning is not null, $"No 'warning MG0001' in the build output. {build}");
        Assert.Contains("exceeds", warning, StringComparison.Ordinal);
        Assert.Contains("at seq 8192", warning, StringComparison.Ordinal);
    }

    private DotnetResult BuildResult() =>
        fixture.Consumer.Build ?? throw new InvalidOperationException($"The build was not tried because restore failed. {fixture.Consumer.Restore}");
}
