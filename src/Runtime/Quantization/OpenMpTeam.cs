using System;
using System.IO;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace ModelGen.Quantization
{
    /// <summary>
    /// Runs the chunks of a C# loop on libtorch's own OpenMP team (the OpenMP runtime's <c>GOMP_parallel</c> entry point), for work
    /// done between two libtorch calls, such as a prefill tile rebuilt before its GEMM.
    /// </summary>
    /// <remarks>
    /// Why not .NET's thread pool: after each parallel region libtorch's OpenMP workers spin for a while, waiting for the next one,
    /// on the very cores that .NET's workers then want, and .NET's workers spin likewise during the GEMM that follows; a tile
    /// handed between the two pools paid for both (docs/benchmarks-quantization.md, "Hand-overs"). Run as an OpenMP region of the
    /// same team, the tile starts on the threads that are already spinning for work and the GEMM finds them there afterwards,
    /// exactly as between two libtorch operators. Chunks are taken from a shared counter (dynamic scheduling), so a thread slowed by
    /// another process leaves its share to the others. Where the OpenMP runtime libtorch uses cannot be found (another platform,
    /// a runtime without the GNU entry point) <see cref="Available"/> is false and callers use the thread pool.
    /// </remarks>
    internal static unsafe class OpenMpTeam
    {
        // void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags): libgomp's ABI since GCC 4.9,
        // also exported by LLVM's and Intel's runtimes for code compiled with GCC.
        private static readonly delegate* unmanaged<delegate* unmanaged<IntPtr, void>, IntPtr, uint, uint, void> s_parallel = Find();

        /// <summary>Whether loops can run on libtorch's OpenMP team here.</summary>
        public static bool Available => s_parallel != null && !ForceThreadPool && !s_turnedOff;

        // MODELGEN_OPENMP_TEAM=0 turns the team off for the process (the thread-pool form everywhere), for an A/B or a runtime whose
        // OpenMP entry point misbehaves.
        private static readonly bool s_turnedOff = Environment.GetEnvironmentVariable("MODELGEN_OPENMP_TEAM") == "0";

        /// <summary>Tests and benchmarks set this to run the thread-pool form on a machine where the team is available.</summary>
        internal static bool ForceThreadPool { get; set; }

        /// <summary>
        /// Calls <paramref name="body"/> once for each chunk in [0, <paramref name="chunks"/>) on up to <paramref name="threads"/>
        /// threads of the team (the calling thread among them) and returns when all have run; the first exception a chunk throws is
        /// rethrown here (it never unwinds into native code).
        /// </summary>
        public static void For(long chunks, int threads, Action<long> body)
        {
            if (!Available)
                throw new InvalidOperationException("libtorch's OpenMP runtime was not found in this process; use the thread pool.");
            var work = new Work(chunks, body);
            var handle = GCHandle.Alloc(work);
            try
            {
                s_parallel(&Member, GCHandle.ToIntPtr(handle), (uint)Math.Max(1, threads), 0);
            }
            finally
            {
                handle.Free();
            }
            if (work.Failure is not null)
                ExceptionDispatchInfo.Throw(work.Failure);
        }

        [UnmanagedCallersOnly]
        private static void Member(IntPtr state)
        {
            var work = (Work)GCHandle.FromIntPtr(state).Target!;
            try
            {
                long chunk;
                while (Volatile.Read(ref work.Failure) is null && (chunk = Interlocked.Increment(ref work.Next) - 1) < work.Chunks)
                    work.Body(chunk);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref work.Failure, e, null);
            }
        }

        private sealed class Work
        {
            public readonly long Chunks;
            public readonly Action<long> Body;
            public long Next;
            public Exception? Failure;

            public Work(long chunks, Action<long> body)
            {
                Chunks = chunks;
                Body = body;
            }
        }

        /// <summary>
        /// The OpenMP runtime loaded beside libtorch: the mapped library whose file name starts with libgomp, libiomp or libomp in the
        /// directory of the mapped libtorch_cpu (the copy libtorch was linked against, not another one some other library brought).
        /// </summary>
        private static delegate* unmanaged<delegate* unmanaged<IntPtr, void>, IntPtr, uint, uint, void> Find()
        {
            try
            {
                _ = TorchSharp.torch.get_num_threads(); // loads libtorch, and with it its OpenMP runtime
                if (!OperatingSystem.IsLinux())
                    return null;
                string? torchDirectory = null;
                var mapped = File.ReadAllLines("/proc/self/maps");
                foreach (var line in mapped)
                {
                    int slash = line.IndexOf('/');
                    if (slash >= 0 && Path.GetFileName(line[slash..]).StartsWith("libtorch_cpu", StringComparison.Ordinal))
                        torchDirectory = Path.GetDirectoryName(line[slash..]);
                }
                if (torchDirectory is null)
                    return null;
                foreach (var line in mapped)
                {
                    int slash = line.IndexOf('/');
                    if (slash < 0)
                        continue;
                    var path = line[slash..];
                    var name = Path.GetFileName(path);
                    if (Path.GetDirectoryName(path) != torchDirectory
                        || !(name.StartsWith("libgomp", StringComparison.Ordinal) || name.StartsWith("libiomp", StringComparison.Ordinal) || name.StartsWith("libomp", StringComparison.Ordinal)))
                        continue;
                    if (NativeLibrary.TryLoad(path, out var library) && NativeLibrary.TryGetExport(library, "GOMP_parallel", out var parallel))
                        return (delegate* unmanaged<delegate* unmanaged<IntPtr, void>, IntPtr, uint, uint, void>)parallel;
                }
                return null;
            }
            catch (IOException)
            {
                return null;
            }
        }
    }
}
