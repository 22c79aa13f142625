using System;
using System.IO;
using System.Linq;
using System.Reflection.PortableExecutable;
using System.Runtime.InteropServices;

namespace ModelGen.Package.Tests;

/// <summary>
/// The compiler plugins' ReadyToRun copies (eng/ReadyToRun.targets, docs/benchmarks-analyzers.md): packed under tools/r2r/&lt;rid&gt;/
/// for the packing machine's platform beside the plain IL ones, and handed to the compiler by build/ModelGen.targets.
/// </summary>
[Collection(PackageCollection.Name)]
public sealed class ReadyToRunTests(PackageFixture fixture)
{
    private static readonly string[] Plugins = ["ModelGen.Analyzers.dll", "ModelGen.CodeFixes.dll", "ModelGen.Core.dll", "ModelGen.Generators.dll"];

    // The tests run on the platform that packed the package (CI packs and tests on one machine).
    private static string ReadyToRunFolder => $"tools/r2r/{RuntimeInformation.RuntimeIdentifier}/";

    [Fact]
    public void Tools_r2r_holds_a_precompiled_copy_of_each_plugin_and_analyzers_holds_plain_IL()
    {
        var entries = fixture.Package.Entries;

        Assert.Equal(Plugins, fixture.Package.FilesUnder(ReadyToRunFolder));
        foreach (var plugin in Plugins)
        {
            Assert.True(IsReadyToRun(entries[ReadyToRunFolder + plugin]), $"{ReadyToRunFolder}{plugin} has no ReadyToRun code");
            // What NuGet hands every compiler (Visual Studio's .NET Framework one, other platforms) stays plain IL.
            Assert.False(IsReadyToRun(entries["analyzers/dotnet/cs/" + plugin]), $"analyzers/dotnet/cs/{plugin} is not plain IL");
        }
        Assert.Contains("build/ModelGen.targets", entries.Keys);
        Assert.Contains("buildTransitive/ModelGen.targets", entries.Keys);
    }

    [Fact]
    public void Consumer_build_gives_the_compiler_the_precompiled_copies()
    {
        var consumer = fixture.Consumer;
        Assert.True(consumer.Build is { Succeeded: true }, consumer.Build?.ToString());

        // build/ModelGen.targets gathers the copies it gives the compiler in the project's obj/…/modelgen-r2r/<rid>/.
        var gathered = Directory.GetDirectories(Path.Combine(consumer.Directory, "obj"), "modelgen-r2r", SearchOption.AllDirectories)
            .Select(folder => Path.Combine(folder, RuntimeInformation.RuntimeIdentifier))
            .Where(Directory.Exists)
            .ToList();
        var folder = Assert.Single(gathered);
        Assert.Equal(Plugins, Directory.GetFiles(folder).Select(Path.GetFileName).OrderBy(name => name, StringComparer.Ordinal));
        Assert.All(Directory.GetFiles(folder), file => Assert.True(IsReadyToRun(File.ReadAllBytes(file)), file));
    }

    /// <summary>True when the assembly carries ReadyToRun code: its CLI header points to a managed native (READYTORUN) header.</summary>
    private static bool IsReadyToRun(byte[] assembly)
    {
        using var reader = new PEReader(new MemoryStream(assembly));
        return reader.PEHeaders.CorHeader is { ManagedNativeHeaderDirectory.Size: > 0 };
    }
}
