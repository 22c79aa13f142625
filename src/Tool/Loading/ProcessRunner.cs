using System.Collections.Generic;
using System.Diagnostics;
using System.Text;

namespace ModelGen.Tool.Loading
{
    /// <summary>What a finished process printed and returned.</summary>
    internal sealed record ProcessResult(int ExitCode, string Output);

    /// <summary>Runs a program to completion; tests replace it to see the command lines without running them.</summary>
    internal interface IProcessRunner
    {
        ProcessResult Run(string fileName, IReadOnlyList<string> arguments, string workingDirectory);
    }

    /// <summary>Runs processes for real, capturing standard output and error together.</summary>
    internal sealed class ProcessRunner : IProcessRunner
    {
        public ProcessResult Run(string fileName, IReadOnlyList<string> arguments, string workingDirectory)
        {
            var start = new ProcessStartInfo(fileName)
            {
                WorkingDirectory = workingDirectory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in arguments)
                start.ArgumentList.Add(argument);
            start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            start.Environment["DOTNET_NOLOGO"] = "1";
            var output = new StringBuilder();
            using var process = new Process { StartInfo = start };
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            process.WaitForExit();
            lock (output)
                return new ProcessResult(process.ExitCode, output.ToString());
        }
    }
}
