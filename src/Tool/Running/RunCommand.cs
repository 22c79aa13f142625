using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelGen.Tool.Loading;

namespace ModelGen.Tool.Running
{
    /// <summary>
    /// <c>modelgen run PROJECT [-- ARGS]</c>: builds a project on the host and runs it where TorchSharp's native library loads —
    /// natively when the system's libstdc++ has GLIBCXX_3.4.32 (or not on Linux), else inside the Debian 13 root file system that
    /// <c>./build.sh</c> uses, created on first use (root or sudo needed). The decision, the root file system and the mounts are
    /// the repository's own scripts (<see cref="EngScripts"/>); the project can be anywhere: its folder, the folder of its
    /// assembly and the current folder are bound into the root file system at their own paths.
    /// </summary>
    internal static class RunCommand
    {
        public static Command Create(ToolContext context)
        {
            var input = new Argument<string>("project") { Description = "A project (.csproj or its folder) or a built assembly (.dll)." };
            var arguments = new Argument<string[]>("arguments") { Description = "Arguments for the program (after --).", Arity = ArgumentArity.ZeroOrMore };
            var configuration = new Option<string>("--configuration", "-c") { Description = "Build configuration.", DefaultValueFactory = _ => "Release" };
            var noBuild = new Option<bool>("--no-build") { Description = "Never build; run the assembly as it is." };
            var mode = new Option<string?>("--mode") { Description = "native or chroot, instead of deciding from the system's libstdc++ (as MODELGEN_RUN does)." };
            mode.AcceptOnlyFromAmong("native", "chroot");
            var command = new Command("run", "Build a project and run it where TorchSharp loads: natively, or in a Debian 13 root file system on Debian 12-class hosts.")
            {
                input, arguments, configuration, noBuild, mode,
            };
            command.SetAction(parse => context.Guard(() => Run(context, parse.GetValue(input)!, parse.GetValue(arguments) ?? Array.Empty<string>(),
                parse.GetValue(configuration)!, parse.GetValue(noBuild), parse.GetValue(mode))));
            return command;
        }

        internal static int Run(ToolContext context, string input, IReadOnlyList<string> arguments, string configuration, bool noBuild, string? mode)
        {
            string target, projectDirectory;
            if (input.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            {
                target = Path.GetFullPath(input);
                if (!File.Exists(target))
                    throw new ToolException($"No such assembly: {target}");
                projectDirectory = Path.GetDirectoryName(target)!;
            }
            else
            {
                var project = ProjectBuild.FindProject(input);
                target = new ProjectBuild(context.Processes).Prepare(project, configuration, force: false, noBuild).TargetPath;
                projectDirectory = Path.GetDirectoryName(project)!;
            }

            var scripts = EngScripts.Extract();
            var (runMode, reason) = Decide(context, scripts, mode);
            context.Error.WriteLine($"modelgen: running {(runMode == "native" ? "natively" : "in the Debian 13 root file system")}: {reason}");
            if (runMode == "native")
                return Execute(context, "dotnet", new[] { target }.Concat(arguments).ToList(), Environment.CurrentDirectory, null);
            return RunInRootFileSystem(context, scripts, target, projectDirectory, arguments);
        }

        /// <summary>native or chroot, with the reason, from eng/host.sh's <c>mg_decide_run_mode</c>.</summary>
        private static (string Mode, string Reason) Decide(ToolContext context, string scripts, string? mode)
        {
            var environment = new Dictionary<string, string?>();
            if (mode is not null)
                environment["MODELGEN_RUN"] = mode;
            var result = Capture("bash", new[] { "-c", ". ./common.sh && . ./host.sh && mg_decide_run_mode && printf '%s\\n%s\\n' \"$MG_RUN_MODE\" \"$MG_RUN_REASON\"" }, scripts, environment);
            var lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (result.ExitCode != 0 || lines.Length < 2 || lines[^2] is not ("native" or "chroot"))
                throw new ToolException("Could not decide where TorchSharp loads: " + result.Output.Trim());
            return (lines[^2], lines[^1]);
        }

        private static int RunInRootFileSystem(ToolContext context, string scripts, string target, string projectDirectory, IReadOnlyList<string> arguments)
        {
            if (!OperatingSystem.IsLinux())
                throw new ToolException("The Debian 13 root file system needs a Linux host.");
            var rootfs = Environment.GetEnvironmentVariable("MODELGEN_ROOTFS") is { Length: > 0 } custom ? Path.GetFullPath(custom) : Path.Combine(EngScripts.CacheRoot(), "rootfs-trixie");
            var user = Capture("id", new[] { "-u" }, scripts, null).Output.Trim();
            var group = Capture("id", new[] { "-g" }, scripts, null).Output.Trim();
            var root = user == "0";
            var asRoot = root ? Array.Empty<string>() : new[] { "sudo", "--preserve-env=MODELGEN_DEBIAN_MIRROR" };

            var prepare = asRoot.Concat(new[] { Path.Combine(scripts, "rootfs.sh"), rootfs }).ToList();
            var prepared = Execute(context, prepare[0], prepare.Skip(1).ToList(), scripts, null);
            if (prepared != 0)
                throw new ToolException($"Preparing the root file system at {rootfs} failed (exit {prepared}).");

            var sdk = DotnetRoot(scripts);
            var packages = NuGetPackages(scripts);
            // Through sudo the program runs as the calling user, so what it writes is theirs (as ./build.sh does).
            var home = root ? "/root" : $"/tmp/modelgen-home-{user}";
            if (!root)
                Directory.CreateDirectory(home);
            var binds = new[] { sdk, packages, projectDirectory, Path.GetDirectoryName(target)!, Environment.CurrentDirectory, "/tmp" }
                .Where(Directory.Exists).Distinct().ToList();
            var chroot = new List<string>(asRoot) { Path.Combine(scripts, "chroot-run.sh"), "--rootfs", rootfs };
            foreach (var bind in binds)
                chroot.AddRange(new[] { "--bind", bind });
            chroot.AddRange(new[]
            {
                "--env", "HOME=" + home, "--env", $"PATH={sdk}:/usr/local/bin:/usr/bin:/bin", "--env", "DOTNET_ROOT=" + sdk,
                "--env", "NUGET_PACKAGES=" + packages, "--env", "DOTNET_CLI_TELEMETRY_OPTOUT=1", "--env", "DOTNET_NOLOGO=1",
            });
            if (!root)
                chroot.AddRange(new[] { "--user", user + ":" + group });
            chroot.AddRange(new[] { "--cwd", Environment.CurrentDirectory, "--", "dotnet", target });
            chroot.AddRange(arguments);
            return Execute(context, chroot[0], chroot.Skip(1).ToList(), scripts, null);
        }

        private static string DotnetRoot(string scripts)
        {
            var result = Capture("bash", new[] { "-c", ". ./common.sh && mg_dotnet_root" }, scripts, null);
            return result.ExitCode == 0 ? result.Output.Trim() : throw new ToolException("Cannot find the .NET SDK: " + result.Output.Trim());
        }

        private static string NuGetPackages(string scripts)
        {
            var result = Capture("bash", new[] { "-c", ". ./common.sh && mg_nuget_packages" }, scripts, null);
            return result.ExitCode == 0 ? result.Output.Trim() : throw new ToolException("Cannot find the NuGet packages folder: " + result.Output.Trim());
        }

        /// <summary>Runs a program, forwarding its output line by line to the tool's writers; returns its exit code.</summary>
        private static int Execute(ToolContext context, string file, IReadOnlyList<string> arguments, string directory, IReadOnlyDictionary<string, string?>? environment)
        {
            var start = Start(file, arguments, directory, environment);
            using var process = Process.Start(start) ?? throw new ToolException($"Could not start {file}.");
            var output = Task.Run(() => Forward(process.StandardOutput, context.Out));
            var error = Task.Run(() => Forward(process.StandardError, context.Error));
            process.WaitForExit();
            Task.WaitAll(output, error);
            return process.ExitCode;
        }

        private static void Forward(StreamReader from, TextWriter to)
        {
            string? line;
            while ((line = from.ReadLine()) is not null)
            {
                lock (to)
                {
                    to.WriteLine(line);
                    to.Flush();
                }
            }
        }

        private static ProcessResult Capture(string file, IReadOnlyList<string> arguments, string directory, IReadOnlyDictionary<string, string?>? environment)
        {
            using var process = Process.Start(Start(file, arguments, directory, environment)) ?? throw new ToolException($"Could not start {file}.");
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return new ProcessResult(process.ExitCode, output + error.Result);
        }

        private static ProcessStartInfo Start(string file, IReadOnlyList<string> arguments, string directory, IReadOnlyDictionary<string, string?>? environment)
        {
            var start = new ProcessStartInfo(file)
            {
                WorkingDirectory = directory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in arguments)
                start.ArgumentList.Add(argument);
            if (environment is not null)
            {
                foreach (var (name, value) in environment)
                    start.Environment[name] = value;
            }
            return start;
        }
    }
}
