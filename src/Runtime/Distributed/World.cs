using System;
using System.Runtime.InteropServices;
using ModelGen.Distributed.Mpi;

namespace ModelGen.Distributed
{
    /// <summary>
    /// The job this process belongs to: every rank that <c>mpirun -np N</c> started, or this process alone when it was
    /// started without a launcher. <see cref="Group"/> is the world's process group; sub-groups come from
    /// <see cref="ProcessGroup.Split"/> or <see cref="ParallelGrid"/>.
    /// </summary>
    /// <remarks>
    /// A process without launcher variables (OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK) is a world of one
    /// (<see cref="SingleProcessGroup"/>) and needs no MPI library. Under a launcher, the first use loads the launcher's MPI
    /// (Open MPI's libmpi.so.40, MPICH's libmpi.so.12, or the file named by MODELGEN_MPI_LIBRARY), calls MPI_Init_thread
    /// asking for MPI_THREAD_MULTIPLE, and arranges two things for the rest of the process: an exception nobody catches
    /// prints "rank N failed: …" and calls MPI_Abort, so the launcher ends every rank instead of leaving them waiting in a
    /// collective; and MPI_Finalize runs when the process exits.
    /// </remarks>
    public static class World
    {
        private static readonly object s_lock = new();
        private static ProcessGroup? s_group;
        private static MpiLibrary? s_mpi;
        private static volatile bool s_finalized;

        /// <summary>The world's process group, initialized on first use (see <see cref="Initialize"/>).</summary>
        public static ProcessGroup Group => s_group ?? Initialize();

        /// <summary>This process's rank in the world, from 0 to <see cref="Size"/> − 1.</summary>
        public static int Rank => Group.Rank;

        /// <summary>The number of processes in the job (1 without a launcher).</summary>
        public static int Size => Group.Size;

        /// <summary>Whether the world runs over MPI (true under a launcher, even with one rank).</summary>
        public static bool IsDistributed => Group is MpiProcessGroup;

        /// <summary>The MPI implementation's own description (MPI_Get_library_version), or null for a world of one without MPI.</summary>
        public static string? LibraryVersion { get; private set; }

        /// <summary>
        /// The thread support MPI granted (MPI_THREAD_MULTIPLE is 3). Below 3, collectives must all come from one thread at a
        /// time, and DistributedDataParallel does its all-reduces on the training thread instead of overlapping them.
        /// </summary>
        public static int ThreadSupport { get; private set; } = MpiLibrary.ThreadMultiple;

        internal static bool IsFinalized => s_finalized;

        /// <summary>
        /// Joins the job: detects the launcher, loads and initializes MPI, and returns the world's group. Calling it again
        /// returns the same group. Without a launcher, returns <see cref="SingleProcessGroup.Instance"/> and loads nothing.
        /// </summary>
        /// <exception cref="InvalidOperationException">
        /// A launcher started this process for more than one rank but no usable MPI library is installed; the message names
        /// the package to install.
        /// </exception>
        public static ProcessGroup Initialize()
        {
            lock (s_lock)
            {
                if (s_group is not null) return s_group;
                var launcher = MpiLauncher.Detect();
                if (!launcher.Launched) return s_group = SingleProcessGroup.Instance;

                // .NET turns SIGSEGV into NullReferenceException. Open MPI (MCA parameter opal_signal) and UCX, which Open MPI
                // loads for its ucx components (UCX_HANDLE_ERRORS), install their own SIGSEGV handlers to print a backtrace,
                // and those kill the rank on a null dereference the program would catch (the worker's "signals" case shows it).
                // Turning them off keeps .NET's handlers; a user's own setting wins. Before loading:
                // libmpi links libucs, whose constructor reads its settings when the library loads.
                SetNativeEnvironment("OMPI_MCA_opal_signal", "");
                SetNativeEnvironment("UCX_HANDLE_ERRORS", "none");

                MpiLibrary mpi;
                try
                {
                    mpi = MpiLoader.Load(launcher.Flavor);
                }
                catch (DllNotFoundException e)
                {
                    if (launcher.Size == 1) return s_group = SingleProcessGroup.Instance;
                    throw new InvalidOperationException(
                        $"This process was started by an MPI launcher ({launcher.Evidence}) but cannot load MPI. {e.Message}", e);
                }


                Check(mpi.Initialized(out var initialized), "MPI_Initialized");
                if (initialized == 0)
                {
                    Check(mpi.InitThread(MpiLibrary.ThreadMultiple, out var provided), "MPI_Init_thread");
                    ThreadSupport = provided;
                    AppDomain.CurrentDomain.ProcessExit += (_, _) => Finalize(mpi);
                }
                s_mpi = mpi;
                LibraryVersion = mpi.LibraryVersion();
                var world = new MpiProcessGroup(mpi, mpi.CommWorld, ownsCommunicator: false);
                AppDomain.CurrentDomain.UnhandledException += (_, e) => Abort($"rank {world.Rank} failed: {e.ExceptionObject}");
                return s_group = world;
            }
        }

        /// <summary>
        /// Ends the whole job at once: prints <paramref name="message"/> on this rank's standard error and calls MPI_Abort,
        /// after which the launcher stops every rank and exits non-zero. In a world of one it exits this process.
        /// </summary>
        /// <param name="message">Why, naming the rank (e.g. "rank 3 failed: …").</param>
        /// <param name="exitCode">The error code passed to MPI_Abort (and the exit code without MPI).</param>
        public static void Abort(string message, int exitCode = 1)
        {
            Console.Out.Flush();
            Console.Error.WriteLine(message);
            Console.Error.Flush();
            var mpi = s_mpi;
            if (mpi is not null && !s_finalized) mpi.Abort(mpi.CommWorld, exitCode);
            Environment.Exit(exitCode);
        }

        private static void Finalize(MpiLibrary mpi)
        {
            lock (s_lock)
            {
                if (s_finalized) return;
                s_finalized = true;
                if (mpi.Finalized(out var done) == 0 && done == 0) mpi.Finalize();
            }
        }

        private static void Check(int code, string function)
        {
            if (code != 0) throw new InvalidOperationException($"{function} failed with MPI error code {code}.");
        }

        // .NET's Environment.SetEnvironmentVariable changes only the managed copy on Unix; MPI reads the C environment.
        private static void SetNativeEnvironment(string name, string value)
        {
            try
            {
                _ = setenv(name, value, 0);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                // Not glibc: MPI keeps its default.
            }
        }

        [DllImport("libc.so.6", CharSet = CharSet.Ansi, BestFitMapping = false)]
#pragma warning disable CA5392, SYSLIB1054 // libc is a system library, found by the loader's own search path
        private static extern int setenv(string name, string value, int overwrite);
#pragma warning restore CA5392, SYSLIB1054
    }
}
