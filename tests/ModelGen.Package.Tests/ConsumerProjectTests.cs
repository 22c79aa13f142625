using System;
using System.IO;
using System.Linq;

namespace ModelGen.Package.Tests;

/// <summary>A fresh project restores the packed ModelGen offline, builds and gets the generated code.</summary>
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

        var generated = fixture.Consumer.GeneratedFiles("Consumer.Mlp.*.g.cs");

        Assert.True(generated.Count == 1, $"Expected one generated file named Consumer.Mlp.*.g.cs under {fixture.Consumer.GeneratedFilesFolder}, found {generated.Count}. {build}");
    }

    [Fact]
    public void Generated_module_is_compiled_into_the_consumer()
    {
        var build = BuildResult();

        // The generated part makes Mlp a TorchSharp module; without it Program's typeof(Mlp) would still compile,
        // so look for what only the generator writes: the config constructor.
        var source = File.ReadAllText(Assert.Single(fixture.Consumer.GeneratedFiles("Consumer.Mlp.*.g.cs")));

        Assert.Contains("partial class Mlp", source, StringComparison.Ordinal);
        Assert.Contains("Mlp(global::Consumer.TinyConfig", source, StringComparison.Ordinal);
        Assert.True(build.Succeeded, build.ToString());
    }

    [Fact]
    public void Analyzer_reports_the_budget_overrun_in_the_build_output()
    {
        var build = BuildResult();

        var warning = build.Output.Split('\n').FirstOrDefault(line => line.Contains("warning MG0001", StringComparison.Ordinal));

        Assert.True(warning is not null, $"No 'warning MG0001' in the build output. {build}");
        Assert.Contains("exceeds", warning, StringComparison.Ordinal);
        Assert.Contains("at seq 8192", warning, StringComparison.Ordinal);
        // The budget that fits (inference on 80 GB) gets no warning.
        Assert.DoesNotContain(build.Output.Split('\n'), line => line.Contains("warning MG0001", StringComparison.Ordinal) && line.Contains("80 GB", StringComparison.Ordinal));
    }

    private DotnetResult BuildResult() =>
        fixture.Consumer.Build ?? throw new InvalidOperationException($"The build was not tried because restore failed. {fixture.Consumer.Restore}");
}
