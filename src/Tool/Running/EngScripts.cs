using System;
using System.IO;
using System.Reflection;

namespace ModelGen.Tool.Running
{
    /// <summary>
    /// The repository's own shell scripts (eng/*.sh), embedded in the tool when it is built, so that <c>modelgen run</c> decides and
    /// runs exactly as <c>./build.sh run</c> does, without a clone of the repository. They are written once per tool version to
    /// <c>$XDG_CACHE_HOME/modelgen/tool-scripts/VERSION</c> (or <c>~/.cache/…</c>), each through a temporary name.
    /// </summary>
    internal static class EngScripts
    {
        public static readonly string[] Names = { "common.sh", "host.sh", "debian-mirror.sh", "rootfs.sh", "chroot-run.sh" };

        /// <summary>The folder holding the extracted scripts.</summary>
        public static string Extract()
        {
            var version = typeof(EngScripts).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";
            var directory = Path.Combine(CacheRoot(), "tool-scripts", Sanitize(version));
            Directory.CreateDirectory(directory);
            foreach (var name in Names)
            {
                using var resource = typeof(EngScripts).Assembly.GetManifestResourceStream("ModelGen.Tool.eng." + name)
                    ?? throw new InvalidOperationException($"The tool was built without eng/{name}.");
                using var reader = new StreamReader(resource);
                var text = reader.ReadToEnd();
                var path = Path.Combine(directory, name);
                if (File.Exists(path) && File.ReadAllText(path) == text)
                    continue;
                var temporary = path + "." + Environment.ProcessId + ".tmp";
                File.WriteAllText(temporary, text);
                if (!OperatingSystem.IsWindows())
                    File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
                File.Move(temporary, path, overwrite: true);
            }
            return directory;
        }

        /// <summary>Where ModelGen caches things: <c>$XDG_CACHE_HOME/modelgen</c>, else <c>~/.cache/modelgen</c> (as build.sh).</summary>
        public static string CacheRoot()
        {
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var root = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(root, "modelgen");
        }

        private static string Sanitize(string version)
        {
            var chars = version.ToCharArray();
            for (var i = 0; i < chars.Length; i++)
            {
                if (!(char.IsLetterOrDigit(chars[i]) || chars[i] is '.' or '-'))
                    chars[i] = '_';
            }
            return new string(chars);
        }
    }
}
