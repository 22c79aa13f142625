using System;
using System.Runtime.InteropServices;

namespace ModelGen.Distributed.Mpi
{
    /// <summary>The MPI implementations whose binary interface the binding knows.</summary>
    internal enum MpiFlavor
    {
        /// <summary>Open MPI (libmpi.so.40): handles are pointers to exported objects.</summary>
        OpenMpi,
        /// <summary>MPICH and the implementations sharing its ABI (Intel MPI, Cray MPICH, MVAPICH; libmpi.so.12): handles are integers.</summary>
        Mpich,
    }

    /// <summary>The predefined datatypes the collectives use.</summary>
    internal enum MpiType { Byte, Int8, UInt8, UInt16, Int32, Int64, Float, Double }

    /// <summary>The predefined reduction operations the collectives use.</summary>
    internal enum MpiOp { Sum, Max, Min }

    /// <summary>
    /// The part of the MPI C interface ModelGen calls, behind one shape for every implementation: handles travel as
    /// <see cref="nint"/> (Open MPI passes pointers, MPICH 32-bit integers, which each backend converts at the call).
    /// Every method returns MPI's error code; the communicators keep MPI's default handler, MPI_ERRORS_ARE_FATAL,
    /// so an MPI failure ends the job with MPI's own message rather than returning here.
    /// </summary>
    internal abstract class MpiLibrary
    {
        /// <summary>MPI_THREAD_MULTIPLE: the same value (3) in Open MPI's and MPICH's mpi.h.</summary>
        public const int ThreadMultiple = 3;

        protected MpiLibrary(nint library, string path)
        {
            Library = library;
            Path = path;
        }

        /// <summary>The dlopen handle.</summary>
        public nint Library { get; }

        /// <summary>The file that was loaded.</summary>
        public string Path { get; }

        /// <summary>Which ABI this is.</summary>
        public abstract MpiFlavor Flavor { get; }

        /// <summary>MPI_COMM_WORLD.</summary>
        public abstract nint CommWorld { get; }

        /// <summary>MPI_IN_PLACE: (void*)1 in Open MPI, (void*)-1 in MPICH.</summary>
        public abstract nint InPlace { get; }

        /// <summary>The handle of a predefined datatype.</summary>
        public abstract nint Type(MpiType type);

        /// <summary>The handle of a predefined reduction.</summary>
        public abstract nint Op(MpiOp op);

        public abstract int InitThread(int required, out int provided);
        public abstract int Initialized(out int flag);
        public abstract int Finalized(out int flag);
        public abstract int Finalize();
        public abstract int Abort(nint comm, int errorCode);
        public abstract int CommRank(nint comm, out int rank);
        public abstract int CommSize(nint comm, out int size);
        public abstract int CommSplit(nint comm, int color, int key, out nint newComm);
        public abstract int CommDup(nint comm, out nint newComm);
        public abstract int CommFree(nint comm);
        public abstract int Barrier(nint comm);
        public abstract int Bcast(nint buffer, int count, nint type, int root, nint comm);
        public abstract int Allreduce(nint send, nint receive, int count, nint type, nint op, nint comm);
        public abstract int Allgather(nint send, int sendCount, nint sendType, nint receive, int receiveCount, nint receiveType, nint comm);
        public abstract int Allgatherv(nint send, int sendCount, nint sendType, nint receive, int[] receiveCounts, int[] displacements, nint receiveType, nint comm);
        public abstract int ReduceScatter(nint send, nint receive, int[] receiveCounts, nint type, nint op, nint comm);

        /// <summary>MPI_Get_library_version's text, e.g. "Open MPI v5.0.7, package: Debian OpenMPI, …".</summary>
        public string LibraryVersion()
        {
            // MPI_MAX_LIBRARY_VERSION_STRING is 256 in Open MPI and 8192 in MPICH: the larger fits both.
            var buffer = Marshal.AllocHGlobal(8192);
            try
            {
                var function = Function<GetLibraryVersionFn>("MPI_Get_library_version");
                return function(buffer, out var length) == 0 ? (Marshal.PtrToStringAnsi(buffer, length) ?? "").Trim('\0', ' ', '\n') : "";
            }
            finally
            {
                Marshal.FreeHGlobal(buffer);
            }
        }

        /// <summary>An exported function as a delegate; a missing export means the file is not an MPI library.</summary>
        protected T Function<T>(string name) where T : Delegate
        {
            if (!NativeLibrary.TryGetExport(Library, name, out var address))
                throw new DllNotFoundException($"{Path} does not export {name}: it is not an MPI library ModelGen can use.");
            return Marshal.GetDelegateForFunctionPointer<T>(address);
        }

        /// <summary>The address of an exported object (Open MPI's predefined handles are such addresses).</summary>
        protected nint Export(string name)
        {
            if (!NativeLibrary.TryGetExport(Library, name, out var address))
                throw new DllNotFoundException($"{Path} does not export {name}: it is not the MPI implementation it claims to be.");
            return address;
        }

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        private delegate int GetLibraryVersionFn(nint version, out int length);
    }
}
