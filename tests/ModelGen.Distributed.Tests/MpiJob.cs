using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;

namespace ModelGen.Distributed.Tests
{
    /// <summary>The outcome of one launch: exit code, everything it printed, and how long it took.</summary>
    internal sealed record JobResult(int ExitCode, string Output, TimeSpan Elapsed, bool TimedOut, string Command)
    {
        /// <summary>For assertion messages: the command and its output.</summary>
        public override string ToString() => $"$ {Command}\nexit {ExitCode} after {Elapsed.TotalSeconds:F1} s{(TimedOut ? " (killed: timed out)" : "")}\n{Output}";
    }

    /// <summary>
    /// Launches tools/ModelGen.Distributed.Worker: under <c>mpirun</c> on N ranks, or alone. Every launch has its own
    /// timeout, after which the whole process tree is killed, so a hang fails the test instead of the test run.
    /// </summary>
    internal static class MpiJob
    {
        /// <summary>
        /// Options every launch passes: run as root (CI's root file system), more ranks than cores (2-core machines), and
        /// Open MPI's TCP transport on the loopback interface. TCP excludes loopback by default (btl_tcp_if_exclude
        /// 127.0.0.1/8) and finds no route between ranks over the sandbox's other interface, which prints "Unable to find
        /// reachable pairing" on every run and makes a TCP-only run fail outright.
        /// </summary>
        public static readonly string[] CommonOptions = { "--allow-run-as-root", "--oversubscribe", "--mca", "btl_tcp_if_include", "lo" };

        /// <summary>Open MPI with no shared memory: the ob1 messaging layer over TCP and self only, the path between machines.</summary>
        public static readonly string[] TcpOnly = { "--mca", "pml", "ob1", "--mca", "btl", "tcp,self" };

        public static JobResult Launch(int ranks, IEnumerable<string> cases, IEnumerable<string>? options = null, int timeoutSeconds = 120)
        {
            var mpirun = FindOnPath("mpirun")
                ?? throw new InvalidOperationException("mpirun is not on PATH: install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin). These tests run every collective under a real launcher.");
            var arguments = CommonOptions.Concat(options ?? Array.Empty<string>())
                .Concat(new[] { "-np", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture), DotnetHost(), WorkerPath() }).Concat(cases);
            return Run(mpirun, arguments, new Dictionary<string, string>(), timeoutSeconds);
        }

        /// <summary>Runs the worker as a plain process, without a launcher, with extra environment variables.</summary>
        public static JobResult Alone(IEnumerable<string> cases, IDictionary<string, string> environment, int timeoutSeconds = 60)
            => Run(DotnetHost(), new[] { WorkerPath() }.Concat(cases), environment, timeoutSeconds);

        private static JobResult Run(string file, IEnumerable<string> arguments, IDictionary<string, string> environment, int timeoutSeconds)
        {
            var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in arguments) start.ArgumentList.Add(argument);
            // No terminal control sequences in captured output; no launcher variables inherited from an outer job.
            start.Environment["TERM"] = "dumb";
            foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("OMPI_", StringComparison.Ordinal) || k.StartsWith("PMI", StringComparison.Ordinal)).ToList())
                start.Environment.Remove(name);
            foreach (var (name, value) in environment) start.Environment[name] = value;

            var output = new StringBuilder();
            using var process = new Process { StartInfo = start };
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            var watch = Stopwatch.StartNew();
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var finished = process.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds));
            if (!finished) process.Kill(entireProcessTree: true);
            process.WaitForExit();
            watch.Stop();
            var command = file + " " + string.Join(" ", start.ArgumentList);
            lock (output) return new JobResult(finished ? process.ExitCode : -1, output.ToString(), watch.Elapsed, !finished, command);
        }

        private static string WorkerPath()
        {
            var recorded = typeof(MpiJob).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "ModelGen.Distributed.Worker")?.Value;
            if (string.IsNullOrEmpty(recorded) || !File.Exists(recorded))
                throw new InvalidOperationException($"The worker's build output '{recorded}' is missing: build tests/ModelGen.Distributed.Tests, which builds the worker.");
            return recorded;
        }

        // The dotnet that runs this test host runs the worker too (the SDK sets DOTNET_HOST_PATH for test runs).
        private static string DotnetHost()
        {
            var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
            var process = Environment.ProcessPath;
            if (process is not null && Path.GetFileNameWithoutExtension(process) == "dotnet") return process;
            return FindOnPath("dotnet") ?? throw new InvalidOperationException("Cannot find the dotnet host to run the worker with.");
        }

        private static string? FindOnPath(string name)
            => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);
    }
}
