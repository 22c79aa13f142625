using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;

namespace ModelGen.Runtime.Tests.Loading
{
    /// <summary>
    /// Runs the reference scripts in tests/python with the python3 (and PyTorch) of the machine the tests run on, once per
    /// script per test process, each into its own temporary folder.
    /// </summary>
    internal static class PythonScripts
    {
        private static readonly ConcurrentDictionary<string, Lazy<string>> Outputs = new();

        /// <summary>The folder the script wrote into (run on first use).</summary>
        public static string Output(string script) => Outputs.GetOrAdd(script, s => new Lazy<string>(() => Run(s))).Value;

        /// <summary>The repository root: the first folder above the test assembly holding ModelGen.sln.</summary>
        public static string RepositoryRoot()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ModelGen.sln")))
                dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("ModelGen.sln not found above " + AppContext.BaseDirectory);
        }

        private static string Run(string script)
        {
            string output = Path.Combine(Path.GetTempPath(), "modelgen-" + Path.GetFileNameWithoutExtension(script) + "-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(output);
            var info = new ProcessStartInfo("python3")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = Path.Combine(RepositoryRoot(), "tests", "python"),
            };
            // No __pycache__ beside the scripts in the repository.
            info.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
            info.ArgumentList.Add(script);
            info.ArgumentList.Add(output);
            using var process = Process.Start(info) ?? throw new InvalidOperationException("python3 did not start");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(120_000))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"python3 {script} ran past 120 s");
            }

            if (process.ExitCode != 0)
                throw new InvalidOperationException($"python3 {script} exited {process.ExitCode}: {stderr.Result}{stdout.Result}");
            return output;
        }
    }
}
