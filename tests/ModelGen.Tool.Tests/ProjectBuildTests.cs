using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using ModelGen.Tool.Loading;

namespace ModelGen.Tool.Tests;

public sealed class ProjectBuildTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "modelgen-project-" + Guid.NewGuid().ToString("N"));

    public ProjectBuildTests()
    {
        Directory.CreateDirectory(Path.Combine(_directory, "src"));
        File.WriteAllText(Project, "<Project Sdk=\"Microsoft.NET.Sdk\" />");
        File.WriteAllText(Path.Combine(_directory, "src", "Model.cs"), "class Model { }");
    }

    private string Project => Path.Combine(_directory, "Model.csproj");

    private string Target => Path.Combine(_directory, "bin", "Release", "net10.0", "Model.dll");

    /// <summary>Answers MSBuild's property query with fixed values and records every command.</summary>
    private sealed class FakeRunner : IProcessRunner
    {
        private readonly Func<IReadOnlyList<string>, ProcessResult> _answer;

        public FakeRunner(Func<IReadOnlyList<string>, ProcessResult> answer) => _answer = answer;

        public List<IReadOnlyList<string>> Commands { get; } = new();

        public ProcessResult Run(string fileName, IReadOnlyList<string> arguments, string workingDirectory)
        {
            Assert.Equal("dotnet", fileName);
            Commands.Add(arguments);
            return _answer(arguments);
        }
    }

    private static ProcessResult Properties(string targetPath, string frameworks = "", string gpu = "") =>
        new(0, new JsonObject { ["Properties"] = new JsonObject { ["TargetPath"] = targetPath, ["TargetFrameworks"] = frameworks, ["ModelGenBudgetGpu"] = gpu, ["ModelGenBudgetGigabytes"] = "" } }.ToJsonString());

    private void WriteTarget(DateTime time)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Target)!);
        File.WriteAllText(Target, "");
        File.SetLastWriteTimeUtc(Target, time);
    }

    [Fact]
    public void An_assembly_newer_than_every_source_is_used_without_building()
    {
        WriteTarget(DateTime.UtcNow.AddMinutes(1));
        var runner = new FakeRunner(args => Properties(Target, gpu: "H100"));

        var built = new ProjectBuild(runner).Prepare(ProjectBuild.FindProject(_directory), "Release", force: false, noBuild: false);

        Assert.False(built.Built);
        Assert.Equal(Target, built.TargetPath);
        Assert.Equal("H100", built.BudgetGpu);
        Assert.Equal("msbuild", Assert.Single(runner.Commands)[0]);
        Assert.Contains("-getProperty:ModelGenBudgetGpu", runner.Commands[0]);
    }

    [Fact]
    public void A_source_newer_than_the_assembly_triggers_dotnet_build()
    {
        WriteTarget(DateTime.UtcNow.AddHours(-1));
        var runner = new FakeRunner(args => args[0] == "build" ? new ProcessResult(0, "") : Properties(Target));

        var built = new ProjectBuild(runner).Prepare(Project, "Release", force: false, noBuild: false);

        Assert.True(built.Built);
        Assert.Equal(new[] { "build", Project, "-c", "Release" }, runner.Commands[1].Take(4));
    }

    [Fact]
    public void A_missing_assembly_with_no_build_is_an_error_and_a_failed_build_shows_its_output()
    {
        var runner = new FakeRunner(args => args[0] == "build" ? new ProcessResult(1, "Model.cs(1,1): error CS1002: ; expected") : Properties(Target));

        var noBuild = Assert.Throws<ToolException>(() => new ProjectBuild(runner).Prepare(Project, "Release", force: false, noBuild: true));
        Assert.Contains("drop --no-build", noBuild.Message, StringComparison.Ordinal);
        var failed = Assert.Throws<ToolException>(() => new ProjectBuild(runner).Prepare(Project, "Release", force: false, noBuild: false));
        Assert.Contains("error CS1002: ; expected", failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_multi_targeting_project_is_evaluated_for_its_first_framework()
    {
        WriteTarget(DateTime.UtcNow.AddMinutes(1));
        var runner = new FakeRunner(args => args.Contains("-p:TargetFramework=net10.0") ? Properties(Target) : Properties("", "net10.0;net8.0"));

        var built = new ProjectBuild(runner).Prepare(Project, "Release", force: false, noBuild: false);

        Assert.Equal(Target, built.TargetPath);
        Assert.Equal(2, runner.Commands.Count);
    }

    [Fact]
    public void A_folder_with_several_projects_asks_which()
    {
        File.WriteAllText(Path.Combine(_directory, "Other.csproj"), "<Project />");

        var error = Assert.Throws<ToolException>(() => ProjectBuild.FindProject(_directory));
        Assert.Contains("several project files", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_of_a_real_sample_project_asks_msbuild_where_its_assembly_is_and_plans_it()
    {
        // The test project built the sample, so it is up to date and nothing is built; only MSBuild's evaluation runs.
        var (exit, output, error) = ToolRun.Run("plan", Path.Combine(ToolRun.Repository, "samples", "Gpt2"), "-c", ToolRun.Configuration, "--no-build", "--json");

        Assert.True(exit == 0, error);
        var model = JsonNode.Parse(output)!["models"]![0]!;
        Assert.Equal("Gpt2", (string)model["name"]!);
        Assert.Equal(124_439_808L, (long)model["parameterCount"]!);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
