using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace ModelGen.Package.Tests;

/// <summary>
/// A fresh console project, as a user would create it, that references the packed ModelGen and TorchSharp-cpu and
/// restores them offline: its only sources are the folder feed with the new package and the machine's NuGet global
/// packages folder (which the repository's own restore filled).
/// </summary>
internal sealed class ConsumerProject
{
    private const string TorchSharpVersion = "0.107.0";

    private ConsumerProject(string directory, string packagesFolder, DotnetResult restore, DotnetResult? build)
    {
        Directory = directory;
        PackagesFolder = packagesFolder;
        Restore = restore;
        Build = build;
    }

    /// <summary>The project folder.</summary>
    public string Directory { get; }

    /// <summary>The packages folder this project restored into (its own, so no stale ModelGen can be reused).</summary>
    public string PackagesFolder { get; }

    /// <summary>What <c>dotnet restore</c> did.</summary>
    public DotnetResult Restore { get; }

    /// <summary>What <c>dotnet build</c> did, or null when restore failed and the build was not tried.</summary>
    public DotnetResult? Build { get; }

    /// <summary>Where <c>EmitCompilerGeneratedFiles</c> puts the generators' output.</summary>
    public string GeneratedFilesFolder => Path.Combine(Directory, "obj");

    /// <summary>Writes the project into <paramref name="workDirectory"/>/consumer, restores it and builds it.</summary>
    public static ConsumerProject CreateAndBuild(string workDirectory, string feed, PackedPackage package) =>
        CreateAndBuild(workDirectory, "consumer", feed, package, outputType: "Exe",
            System.IO.Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Consumer"), "*.cs").Select(f => (Path.GetFileName(f), f)));

    /// <summary>
    /// Writes a project named <paramref name="name"/> with the given sources (file name in the project, path to copy) into
    /// <paramref name="workDirectory"/>, restores it and builds it. Consumers share the packages folder, so only the first restore extracts.
    /// </summary>
    public static ConsumerProject CreateAndBuild(string workDirectory, string name, string feed, PackedPackage package, string outputType,
        IEnumerable<(string Name, string Path)> sources)
    {
        var directory = Path.Combine(workDirectory, name);
        var packagesFolder = Path.Combine(workDirectory, "packages");
        System.IO.Directory.CreateDirectory(directory);
        var globalPackages = GlobalPackagesFolder();

        // Empty Directory.* files stop MSBuild from importing whatever lies above the temp folder.
        foreach (var file in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
        {
            File.WriteAllText(Path.Combine(directory, file), "<Project />\n");
        }

        File.WriteAllText(Path.Combine(directory, "NuGet.config"), NuGetConfig(feed, globalPackages, packagesFolder));
        File.WriteAllText(Path.Combine(directory, "Consumer.csproj"), ProjectFile(package.Version, outputType));
        foreach (var (fileName, source) in sources)
        {
            File.Copy(source, Path.Combine(directory, fileName));
        }

        // NUGET_PACKAGES outranks NuGet.config's globalPackagesFolder, and the root file system sets it.
        var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = packagesFolder };
        var restore = DotnetCli.Run(directory, environment, "restore", "--disable-build-servers");
        var build = restore.Succeeded
            ? DotnetCli.Run(directory, environment, "build", "--no-restore", "--disable-build-servers", "-c", "Release")
            : null;
        return new ConsumerProject(directory, packagesFolder, restore, build);
    }

    /// <summary>The generated source files whose names match <paramref name="pattern"/> (e.g. <c>Consumer.Mlp.*.g.cs</c>).</summary>
    public IReadOnlyList<string> GeneratedFiles(string pattern) =>
        System.IO.Directory.Exists(GeneratedFilesFolder)
            ? System.IO.Directory.GetFiles(GeneratedFilesFolder, pattern, SearchOption.AllDirectories)
                .Where(path => path.Contains($"{Path.DirectorySeparatorChar}generated{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                .ToList()
            : [];

    private static string GlobalPackagesFolder()
    {
        var locals = DotnetCli.Run(Repository.Root, new Dictionary<string, string>(), "nuget", "locals", "global-packages", "--list");
        const string prefix = "global-packages:";
        var line = locals.Output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        if (!locals.Succeeded || line is null)
        {
            throw new InvalidOperationException($"Cannot find the NuGet global packages folder. {locals}");
        }

        var folder = line[prefix.Length..].Trim();
        if (!System.IO.Directory.Exists(Path.Combine(folder, "torchsharp", TorchSharpVersion)))
        {
            throw new InvalidOperationException($"TorchSharp {TorchSharpVersion} is not in the global packages folder {folder}; build the solution first (its restore fills it).");
        }

        return folder;
    }

    // The global packages folder is both a source (so NuGet can list versions, e.g. the SharpZipLib patch release
    // TorchSharp's ranges resolve to) and a fallback folder (so TorchSharp's ~600 MB of native libraries are used
    // in place instead of being extracted again).
    private static string NuGetConfig(string feed, string globalPackages, string packagesFolder) => $"""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <config>
            <add key="globalPackagesFolder" value="{packagesFolder}" />
          </config>
          <packageSources>
            <clear />
            <add key="modelgen-under-test" value="{feed}" />
            <add key="global-packages" value="{globalPackages}" />
          </packageSources>
          <fallbackPackageFolders>
            <clear />
            <add key="global-packages" value="{globalPackages}" />
          </fallbackPackageFolders>
        </configuration>
        """;

    // TreatWarningsAsErrors=false: memory-budget warnings (MG0001) are for the user to see, not a failed build.
    // Symbolic links for copy-local files: TorchSharp-cpu would otherwise copy ~1 GB of native libraries into bin.
    private static string ProjectFile(string modelGenVersion, string outputType) => $"""
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <OutputType>{outputType}</OutputType>
            <TargetFramework>net10.0</TargetFramework>
            <Nullable>enable</Nullable>
            <TreatWarningsAsErrors>false</TreatWarningsAsErrors>
            <EmitCompilerGeneratedFiles>true</EmitCompilerGeneratedFiles>
            <NuGetAudit>false</NuGetAudit>
            <CreateSymbolicLinksForCopyLocalIfPossible>true</CreateSymbolicLinksForCopyLocalIfPossible>
          </PropertyGroup>
          <ItemGroup>
            <PackageReference Include="ModelGen" Version="{modelGenVersion}" />
            <PackageReference Include="TorchSharp-cpu" Version="{TorchSharpVersion}" />
          </ItemGroup>
        </Project>
        """;
}
