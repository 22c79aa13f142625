using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace ModelGen.Distributed.Mpi
{
    /// <summary>Finds and loads the MPI library of the launcher that started this process.</summary>
    internal static class MpiLoader
    {
        /// <summary>Names a user can set to load a specific MPI library file.</summary>
        public const string LibraryVariable = "MODELGEN_MPI_LIBRARY";

        private const int RtldNow = 2, RtldGlobal = 0x100; // <dlfcn.h> on Linux

        /// <summary>
        /// Loads the MPI library: <see cref="LibraryVariable"/> when set, else the soname of the launcher's implementation
        /// (Open MPI's libmpi.so.40, MPICH's libmpi.so.12), else both in turn. Throws with every attempt's reason.
        /// </summary>
        public static MpiLibrary Load(MpiFlavor? launcherFlavor)
        {
            var candidates = new List<string>();
            var chosen = Environment.GetEnvironmentVariable(LibraryVariable);
            if (!string.IsNullOrWhiteSpace(chosen)) candidates.Add(chosen);
            else if (launcherFlavor == MpiFlavor.Mpich) candidates.AddRange(new[] { "libmpi.so.12", "libmpich.so.12", "libmpi.so.40" });
            else candidates.AddRange(new[] { "libmpi.so.40", "libmpi.so.12", "libmpich.so.12" });

            var failures = new List<string>();
            foreach (var name in candidates)
            {
                // RTLD_GLOBAL: Open MPI loads its components (btl, pml, coll …) as plugins that resolve symbols of libmpi
                // itself; with .NET's default local loading those plugins fail to load and MPI_Init reports no transport.
                var handle = Dlopen(name, out var error);
                if (handle == 0)
                {
                    failures.Add($"{name}: {error}");
                    continue;
                }
                try
                {
                    return NativeLibrary.TryGetExport(handle, "ompi_mpi_comm_world", out _)
                        ? new OpenMpiLibrary(handle, name)
                        : new MpichLibrary(handle, name);
                }
                catch (DllNotFoundException e)
                {
                    failures.Add(e.Message);
                }
            }
            throw new DllNotFoundException(
                "No usable MPI library: " + string.Join("; ", failures) + ". Install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin), " +
                $"or set {LibraryVariable} to the path of libmpi.so.");
        }

        private static nint Dlopen(string name, out string error)
        {
            try
            {
                return Open(name, RtldNow | RtldGlobal, out error, libc: true);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                // glibc before 2.34 keeps dlopen in libdl.
                return Open(name, RtldNow | RtldGlobal, out error, libc: false);
            }
        }

        private static nint Open(string name, int flags, out string error, bool libc)
        {
            var handle = libc ? LibcDlopen(name, flags) : LibdlDlopen(name, flags);
            error = handle == 0 ? Marshal.PtrToStringAnsi(libc ? LibcDlerror() : LibdlDlerror()) ?? "cannot be loaded" : "";
            return handle;
        }

        [DllImport("libc.so.6", EntryPoint = "dlopen", CharSet = CharSet.Ansi, BestFitMapping = false)]
        private static extern nint LibcDlopen(string file, int mode);

        [DllImport("libc.so.6", EntryPoint = "dlerror")]
        private static extern nint LibcDlerror();

        [DllImport("libdl.so.2", EntryPoint = "dlopen", CharSet = CharSet.Ansi, BestFitMapping = false)]
        private static extern nint LibdlDlopen(string file, int mode);

        [DllImport("libdl.so.2", EntryPoint = "dlerror")]
        private static extern nint LibdlDlerror();
    }
}
