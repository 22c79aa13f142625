using System;
using System.IO;
using System.Linq;
using System.Reflection;

namespace ModelGen.Package.Tests;

/// <summary>Where the repository is and how the tests were built, independent of the current directory.</summary>
internal static class Repository
{
    /// <summary>The folder holding ModelGen.sln, found by walking up from the test assembly.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The configuration this assembly was built in; the package is packed from that build.</summary>
    public static string Configuration { get; } =
        typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "ModelGen.Configuration").Value
        ?? throw new InvalidOperationException("The test assembly carries no ModelGen.Configuration metadata.");

    /// <summary>The project that becomes the ModelGen package.</summary>
    public static string RuntimeProject => Path.Combine(Root, "src", "Runtime", "ModelGen.Runtime.csproj");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ModelGen.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No ModelGen.sln above {AppContext.BaseDirectory}; the package tests must run from a build inside the repository.");
    }
}
