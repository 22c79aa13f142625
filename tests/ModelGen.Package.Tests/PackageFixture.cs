using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;

namespace ModelGen.Package.Tests;

/// <summary>
/// Packs ModelGen once and builds one consumer of it, shared by every test in <see cref="PackageCollection"/>.
/// Both steps are lazy so a failure shows up in the tests that need that step, with its output.
/// </summary>
public sealed class PackageFixture : IDisposable
{
    private readonly string workDirectory;
    private readonly Lazy<PackedPackage> package;
    private readonly Lazy<ConsumerProject> consumer;
    private readonly Dictionary<string, Lazy<ConsumerProject>> mistakes = new();

    /// <summary>Creates the temp folder; nothing runs until a test asks.</summary>
    public PackageFixture()
    {
        workDirectory = Path.Combine(Path.GetTempPath(), "modelgen-package-tests-" + Guid.NewGuid().ToString("N"));
        var feed = Path.Combine(workDirectory, "feed");
        Directory.CreateDirectory(feed);
        package = new Lazy<PackedPackage>(() => PackedPackage.Pack(feed), LazyThreadSafetyMode.ExecutionAndPublication);
        consumer = new Lazy<ConsumerProject>(
            () => ConsumerProject.CreateAndBuild(workDirectory, feed, package.Value),
            LazyThreadSafetyMode.ExecutionAndPublication);
        foreach (var group in MistakeSources.Groups)
        {
            mistakes[group] = new Lazy<ConsumerProject>(
                () => ConsumerProject.CreateAndBuild(workDirectory, "mistakes-" + group.ToLowerInvariant(), feed, package.Value, "Library", MistakeSources.Files(group)),
                LazyThreadSafetyMode.ExecutionAndPublication);
        }
    }

    internal PackedPackage Package => package.Value;

    internal ConsumerProject Consumer => consumer.Value;

    /// <summary>The consumer built from one group of deliberate mistakes (see <see cref="MistakeSources"/>).</summary>
    internal ConsumerProject Mistakes(string group) => mistakes[group].Value;

    /// <summary>Deletes the temp folder (symbolic links in the consumer's bin are removed, not followed).</summary>
    public void Dispose()
    {
        if (Directory.Exists(workDirectory))
        {
            Directory.Delete(workDirectory, recursive: true);
        }
    }
}

/// <summary>The tests that share one packed package and one consumer build.</summary>
[CollectionDefinition(Name)]
public sealed class PackageCollection : ICollectionFixture<PackageFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Packed ModelGen";
}
