using System;
using System.IO;

namespace ModelGen.Tool.Tests;

public sealed class RunCommandTests
{
    [Fact]
    public void Runs_the_Llama_sample_where_TorchSharp_loads_and_passes_its_output_through()
    {
        // In CI (the Debian 13 root file system, or a new enough host) this runs natively; on a Debian 12 host it goes through the
        // root file system, as ./build.sh run does. Either way the sample trains, saves, reloads and compares on the CPU.
        var (exit, output, error) = ToolRun.Run("run", Path.Combine(ToolRun.Repository, "samples", "Llama"), "-c", ToolRun.Configuration, "--no-build");

        Assert.True(exit == 0, error + output);
        Assert.Contains("outputs equal = True", output, StringComparison.Ordinal);
        Assert.Matches("modelgen: running (natively|in the Debian 13 root file system): .*GLIBCXX_3.4.32", error);
    }

    [Fact]
    public void Run_refuses_an_unknown_mode_and_a_missing_assembly()
    {
        Assert.NotEqual(0, ToolRun.Run("run", "x.dll", "--mode", "docker").Exit);
        var (exit, _, error) = ToolRun.Run("run", "/nonexistent/app.dll");
        Assert.Equal(2, exit);
        Assert.Contains("No such assembly", error, StringComparison.Ordinal);
    }
}
