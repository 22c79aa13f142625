using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Text;

namespace ModelGen.Package.Tests;

/// <summary>What one <c>dotnet</c> command did: its exit code and its stdout and stderr, interleaved as printed.</summary>
internal sealed record DotnetResult(string Command, int ExitCode, string Output)
{
    /// <summary>True when the command exited with 0.</summary>
    public bool Succeeded => ExitCode == 0;

    /// <summary>The command, exit code and output, for assertion messages.</summary>
    public override string ToString() => $"`{Command}` exited with {ExitCode}:\n{Output}";
}

/// <summary>Runs the <c>dotnet</c> found on PATH, the same SDK a user's build would use.</summary>
internal static class DotnetCli
{
    // A restore or build of one small project takes seconds; minutes mean it hangs (e.g. waiting on a network source).
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);

    /// <summary>Runs <c>dotnet args</c> in <paramref name="workingDirectory"/> with extra environment variables.</summary>
    public static DotnetResult Run(string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // The test host runs under MSBuild-launched dotnet test, whose MSBuild* variables would point a child
        // build at the parent's MSBuild instead of letting it resolve its own.
        foreach (var name in new List<string>(start.Environment.Keys))
        {
            if (name.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase))
            {
                start.Environment.Remove(name);
            }
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        // No build server may outlive the test: inside the root file system it would keep the mounts alive.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var command = "dotnet " + string.Join(' ', args);
        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"`{command}` did not finish within {Timeout.TotalMinutes} minutes:\n{Snapshot(output)}");
        }

        process.WaitForExit(); // flushes the asynchronous output readers
        return new DotnetResult(command, process.ExitCode, Snapshot(output));
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

    private static string Snapshot(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }
}
