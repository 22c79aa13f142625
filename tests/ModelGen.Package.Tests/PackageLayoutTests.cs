using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography;

namespace ModelGen.Package.Tests;

/// <summary>What <c>dotnet pack</c> of the Runtime project puts where in ModelGen.&lt;version&gt;.nupkg.</summary>
[Collection(PackageCollection.Name)]
public sealed class PackageLayoutTests(PackageFixture fixture)
{
    private const string Lib = "lib/net10.0/";
    private const string Analyzers = "analyzers/dotnet/cs/";

    [Fact]
    public void Package_is_ModelGen_named_by_its_version()
    {
        var package = fixture.Package;

        Assert.Equal("ModelGen", package.Id);
        Assert.Equal($"ModelGen.{package.Version}.nupkg", Path.GetFileName(package.Path));
    }

    [Fact]
    public void Lib_holds_the_runtime_and_core_with_their_xml_docs()
    {
        var lib = fixture.Package.FilesUnder(Lib);

        Assert.Equal(["ModelGen.Core.dll", "ModelGen.Core.xml", "ModelGen.dll", "ModelGen.xml"], lib);
    }

    [Fact]
    public void Analyzers_folder_holds_the_compiler_plugins_and_the_core_they_load()
    {
        var plugins = fixture.Package.FilesUnder(Analyzers);

        // Exactly these: Roslyn itself must not ship (the compiler provides it).
        Assert.Equal(["ModelGen.Analyzers.dll", "ModelGen.CodeFixes.dll", "ModelGen.Core.dll", "ModelGen.Generators.dll"], plugins);
        Assert.DoesNotContain(fixture.Package.Entries.Keys, name => name.StartsWith("analyzers/", StringComparison.Ordinal) && !name.StartsWith(Analyzers, StringComparison.Ordinal));
    }

    [Fact]
    public void Core_beside_the_analyzers_is_the_same_build_as_core_in_lib()
    {
        var entries = fixture.Package.Entries;

        Assert.Equal(SHA256.HashData(entries[Lib + "ModelGen.Core.dll"]), SHA256.HashData(entries[Analyzers + "ModelGen.Core.dll"]));
    }

    [Fact]
    public void Only_dependency_is_TorchSharp_0_107_0()
    {
        var ns = fixture.Package.Metadata.Name.Namespace;
        var groups = fixture.Package.Element("dependencies").Elements(ns + "group").ToList();

        var group = Assert.Single(groups);
        Assert.Equal("net10.0", (string?)group.Attribute("targetFramework"));
        var dependency = Assert.Single(group.Elements(ns + "dependency"));
        Assert.Equal("TorchSharp", (string?)dependency.Attribute("id"));
        Assert.Equal("0.107.0", (string?)dependency.Attribute("version"));
    }

    [Fact]
    public void Readme_is_packed_and_declared()
    {
        Assert.Equal("README.md", fixture.Package.Element("readme").Value);
        Assert.Contains("README.md", fixture.Package.Entries.Keys);
    }
}
