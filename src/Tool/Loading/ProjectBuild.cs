using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace ModelGen.Tool.Loading
{
    /// <summary>What a project builds to, and the project-level budget the analyzers read from it.</summary>
    /// <param name="TargetPath">The built assembly.</param>
    /// <param name="BudgetGpu">The project's <c>ModelGenBudgetGpu</c>, if set.</param>
    /// <param name="BudgetGigabytes">The project's <c>ModelGenBudgetGigabytes</c>, if set.</param>
    /// <param name="Built">True when the tool ran <c>dotnet build</c>; false when the assembly was already up to date.</param>
    internal sealed record BuiltProject(string TargetPath, string? BudgetGpu, string? BudgetGigabytes, bool Built);

    /// <summary>
    /// Builds a project when its assembly is missing or older than any of its sources. MSBuild itself answers where the assembly
    /// is (<c>dotnet msbuild -getProperty:TargetPath</c>, no restore, no build), so custom output paths work.
    /// </summary>
    internal sealed class ProjectBuild
    {
        private static readonly string[] SourceExtensions = { ".cs", ".csproj", ".props", ".targets", ".json", ".editorconfig", ".fs", ".fsproj", ".vb", ".vbproj" };
        private readonly IProcessRunner _runner;

        public ProjectBuild(IProcessRunner runner) => _runner = runner;

        /// <summary>The project file a path names: the file itself, or the one project file in a directory.</summary>
        /// <exception cref="ToolException">No project, or several, in the directory.</exception>
        public static string FindProject(string path)
        {
            if (File.Exists(path))
                return Path.GetFullPath(path);
            if (!Directory.Exists(path))
                throw new ToolException($"No such project, assembly or config: {path}");
            var projects = Directory.GetFiles(path, "*.*proj").Where(p => p.EndsWith("proj", StringComparison.OrdinalIgnoreCase)).ToList();
            return projects.Count switch
            {
                1 => Path.GetFullPath(projects[0]),
                0 => throw new ToolException($"{path} holds no project file."),
                _ => throw new ToolException($"{path} holds several project files ({string.Join(", ", projects.Select(Path.GetFileName))}); name one."),
            };
        }

        /// <summary>Returns the project's assembly, building it first when needed (or when <paramref name="force"/>).</summary>
        /// <exception cref="ToolException">MSBuild cannot evaluate the project, or the build fails (its output is in the message).</exception>
        public BuiltProject Prepare(string projectPath, string configuration, bool force, bool noBuild)
        {
            var directory = Path.GetDirectoryName(projectPath)!;
            var properties = Evaluate(projectPath, configuration, null);
            var targetPath = properties.GetValueOrDefault("TargetPath") ?? "";
            if (targetPath.Length == 0 && properties.GetValueOrDefault("TargetFrameworks") is { Length: > 0 } frameworks)
            {
                // A multi-targeting project has no TargetPath of its own; take its first framework.
                var first = frameworks.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
                properties = Evaluate(projectPath, configuration, first);
                targetPath = properties.GetValueOrDefault("TargetPath") ?? "";
            }
            if (targetPath.Length == 0)
                throw new ToolException($"MSBuild gives no TargetPath for {projectPath}; is it a .NET project?");

            var built = false;
            if (force || (!noBuild && !IsUpToDate(targetPath, directory)))
            {
                var result = _runner.Run("dotnet", new[] { "build", projectPath, "-c", configuration, "-nologo", "-v:q", "-clp:NoSummary" }, directory);
                if (result.ExitCode != 0)
                    throw new ToolException($"dotnet build {Path.GetFileName(projectPath)} failed (exit {result.ExitCode}):{Environment.NewLine}{result.Output.TrimEnd()}");
                built = true;
            }
            if (!File.Exists(targetPath))
                throw new ToolException(noBuild ? $"{targetPath} does not exist; build the project or drop --no-build." : $"The build did not produce {targetPath}.");
            return new BuiltProject(targetPath, Empty(properties.GetValueOrDefault("ModelGenBudgetGpu")), Empty(properties.GetValueOrDefault("ModelGenBudgetGigabytes")), built);
        }

        /// <summary>
        /// True when <paramref name="targetPath"/> exists and is newer than every source file under the project's directory
        /// (bin/ and obj/ excluded). A cheap stand-in for MSBuild's own check; when in doubt, build (MSBuild then skips what is current).
        /// </summary>
        public static bool IsUpToDate(string targetPath, string projectDirectory)
        {
            if (!File.Exists(targetPath))
                return false;
            var built = File.GetLastWriteTimeUtc(targetPath);
            return !Sources(projectDirectory).Any(file => File.GetLastWriteTimeUtc(file) > built);
        }

        private static IEnumerable<string> Sources(string directory)
        {
            foreach (var file in Directory.EnumerateFiles(directory))
            {
                if (SourceExtensions.Any(e => file.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
                    yield return file;
            }
            foreach (var child in Directory.EnumerateDirectories(directory))
            {
                var name = Path.GetFileName(child);
                if (name is "bin" or "obj" || name.StartsWith('.'))
                    continue;
                foreach (var file in Sources(child))
                    yield return file;
            }
        }

        private Dictionary<string, string> Evaluate(string projectPath, string configuration, string? framework)
        {
            var arguments = new List<string>
            {
                "msbuild", projectPath, "-nologo", $"-p:Configuration={configuration}",
                "-getProperty:TargetPath", "-getProperty:TargetFrameworks", "-getProperty:ModelGenBudgetGpu", "-getProperty:ModelGenBudgetGigabytes",
            };
            if (framework is not null)
                arguments.Add($"-p:TargetFramework={framework}");
            var result = _runner.Run("dotnet", arguments, Path.GetDirectoryName(projectPath)!);
            if (result.ExitCode != 0)
                throw new ToolException($"MSBuild could not evaluate {projectPath} (exit {result.ExitCode}):{Environment.NewLine}{result.Output.TrimEnd()}");
            var text = result.Output.Trim();
            var start = text.IndexOf('{');
            if (start < 0)
                throw new ToolException($"Unexpected MSBuild output for {projectPath}: {text}");
            try
            {
                using var document = JsonDocument.Parse(text[start..]);
                return document.RootElement.GetProperty("Properties").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new ToolException($"Unexpected MSBuild output for {projectPath}: {text}", e);
            }
        }

        private static string? Empty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }
}
