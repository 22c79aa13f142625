using System;
using System.IO;
using System.Linq;
using ModelGen.Tool;
using ModelGen.Tool.Loading;

namespace ModelGen.Tool.Tests;

/// <summary>Runs the modelgen command in-process with captured output, and finds the repository's files.</summary>
internal static class ToolRun
{
    public static (int Exit, string Out, string Error) Run(params string[] args) => Run(null, args);

    public static (int Exit, string Out, string Error) Run(IProcessRunner? processes, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = ToolApp.Run(args, output, error, processes);
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>The repository root (where ModelGen.sln is).</summary>
    public static string Repository { get; } = FindRepository();

    /// <summary>Release or Debug: the configuration these tests were built in, which the samples were built in too.</summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    /// <summary>A sample's built assembly (the test project builds the samples as project references).</summary>
    public static string Sample(string name) => Path.Combine(Repository, "samples", name, "bin", Configuration, "net10.0", name + ".dll");

    /// <summary>A Hugging Face config fixture.</summary>
    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    private static string FindRepository()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !directory.GetFiles("ModelGen.sln").Any())
            directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("ModelGen.sln not found above " + AppContext.BaseDirectory);
    }
}
