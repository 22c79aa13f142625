using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Xml.Linq;

namespace ModelGen.Package.Tests;

/// <summary>The ModelGen package as <c>dotnet pack</c> wrote it into a folder feed.</summary>
internal sealed class PackedPackage
{
    private PackedPackage(string path, IReadOnlyDictionary<string, byte[]> entries, XElement metadata)
    {
        Path = path;
        Entries = entries;
        Metadata = metadata;
    }

    /// <summary>The .nupkg file.</summary>
    public string Path { get; }

    /// <summary>Every file in the package by its path inside it, with its bytes.</summary>
    public IReadOnlyDictionary<string, byte[]> Entries { get; }

    /// <summary>The nuspec's &lt;metadata&gt; element.</summary>
    public XElement Metadata { get; }

    /// <summary>The package id from the nuspec.</summary>
    public string Id => Element("id").Value;

    /// <summary>The package version from the nuspec.</summary>
    public string Version => Element("version").Value;

    /// <summary>The nuspec element of that name under &lt;metadata&gt;.</summary>
    public XElement Element(string name) =>
        Metadata.Element(Metadata.Name.Namespace + name)
        ?? throw new InvalidOperationException($"The nuspec of {Path} has no <{name}>.");

    /// <summary>Packs the Runtime project, already built in the tests' configuration, into <paramref name="feed"/>.</summary>
    public static PackedPackage Pack(string feed)
    {
        // NoBuild: packing must not restore, which needs the network and the host's NuGet configuration
        // (absent in the Debian 13 root file system the tests may run in); building the tests built the Runtime.
        var pack = DotnetCli.Run(
            Repository.Root,
            new Dictionary<string, string>(),
            "pack", Repository.RuntimeProject, "-c", Repository.Configuration, "--no-build", "-o", feed);
        if (!pack.Succeeded)
        {
            throw new InvalidOperationException($"Packing the Runtime project failed. {pack}");
        }

        var packages = Directory.GetFiles(feed, "*.nupkg");
        if (packages.Length != 1)
        {
            throw new InvalidOperationException($"Expected one .nupkg in {feed}, found {packages.Length}: {string.Join(", ", packages)}. {pack}");
        }

        var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using (var zip = ZipFile.OpenRead(packages[0]))
        {
            foreach (var entry in zip.Entries)
            {
                using var stream = entry.Open();
                using var bytes = new MemoryStream();
                stream.CopyTo(bytes);
                entries[entry.FullName] = bytes.ToArray();
            }
        }

        var nuspecName = entries.Keys.Single(name => !name.Contains('/', StringComparison.Ordinal) && name.EndsWith(".nuspec", StringComparison.Ordinal));
        using var nuspec = new MemoryStream(entries[nuspecName]);
        var root = XDocument.Load(nuspec).Root ?? throw new InvalidOperationException($"{nuspecName} is empty.");
        var metadata = root.Element(root.Name.Namespace + "metadata") ?? throw new InvalidOperationException($"{nuspecName} has no <metadata>.");
        return new PackedPackage(packages[0], entries, metadata);
    }

    /// <summary>The files under a package folder such as <c>lib/net10.0/</c>, by file name.</summary>
    public IReadOnlyList<string> FilesUnder(string folder) =>
        Entries.Keys
            .Where(name => name.StartsWith(folder, StringComparison.Ordinal))
            .Select(name => name[folder.Length..])
            .OrderBy(name => name, StringComparer.Ordinal)
            .ToList();
}
