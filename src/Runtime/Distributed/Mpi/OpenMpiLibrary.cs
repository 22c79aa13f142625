using System;
using System.Runtime.InteropServices;

namespace ModelGen.Distributed.Mpi
{
    /// <summary>
    /// Open MPI's ABI: every handle (MPI_Comm, MPI_Datatype, MPI_Op) is a pointer, and the predefined ones are the addresses
    /// of objects the library exports (MPI_COMM_WORLD is <c>&amp;ompi_mpi_comm_world</c>, MPI_FLOAT <c>&amp;ompi_mpi_float</c>, as
    /// Open MPI's mpi.h defines them), so they are read with dlsym rather than compiled in.
    /// </summary>
    internal sealed unsafe class OpenMpiLibrary : MpiLibrary
    {
        private readonly nint[] _types;
        private readonly nint[] _ops;
        private readonly InitThreadFn _initThread;
        private readonly FlagFn _initialized, _finalized;
        private readonly NoArgumentFn _finalize;
        private readonly AbortFn _abort;
        private readonly CommIntFn _commRank, _commSize;
        private readonly CommSplitFn _commSplit;
        private readonly CommDupFn _commDup;
        private readonly CommFreeFn _commFree;
        private readonly BarrierFn _barrier;
        private readonly BcastFn _bcast;
        // A function pointer, not a delegate: the all-reduce is the hot call of data parallel training.
        private readonly delegate* unmanaged[Cdecl]<nint, nint, int, nint, nint, nint, int> _allreduce;
        private readonly AllgatherFn _allgather;
        private readonly AllgathervFn _allgatherv;
        private readonly ReduceScatterFn _reduceScatter;

        public OpenMpiLibrary(nint library, string path) : base(library, path)
        {
            CommWorld = Export("ompi_mpi_comm_world");
            _types = new[]
            {
                Export("ompi_mpi_byte"), Export("ompi_mpi_int8_t"), Export("ompi_mpi_uint8_t"), Export("ompi_mpi_uint16_t"),
                Export("ompi_mpi_int32_t"), Export("ompi_mpi_int64_t"), Export("ompi_mpi_float"), Export("ompi_mpi_double"),
            };
            _ops = new[] { Export("ompi_mpi_op_sum"), Export("ompi_mpi_op_max"), Export("ompi_mpi_op_min") };
            _initThread = Function<InitThreadFn>("MPI_Init_thread");
            _initialized = Function<FlagFn>("MPI_Initialized");
            _finalized = Function<FlagFn>("MPI_Finalized");
            _finalize = Function<NoArgumentFn>("MPI_Finalize");
            _abort = Function<AbortFn>("MPI_Abort");
            _commRank = Function<CommIntFn>("MPI_Comm_rank");
            _commSize = Function<CommIntFn>("MPI_Comm_size");
            _commSplit = Function<CommSplitFn>("MPI_Comm_split");
            _commDup = Function<CommDupFn>("MPI_Comm_dup");
            _commFree = Function<CommFreeFn>("MPI_Comm_free");
            _barrier = Function<BarrierFn>("MPI_Barrier");
            _bcast = Function<BcastFn>("MPI_Bcast");
            _allreduce = (delegate* unmanaged[Cdecl]<nint, nint, int, nint, nint, nint, int>)Export("MPI_Allreduce");
            _allgather = Function<AllgatherFn>("MPI_Allgather");
            _allgatherv = Function<AllgathervFn>("MPI_Allgatherv");
            _reduceScatter = Function<ReduceScatterFn>("MPI_Reduce_scatter");
        }

        public override MpiFlavor Flavor => MpiFlavor.OpenMpi;
        public override nint CommWorld { get; }
        public override nint InPlace => 1; // Open MPI's mpi.h: #define MPI_IN_PLACE ((void *) 1)
        public override nint Type(MpiType type) => _types[(int)type];
        public override nint Op(MpiOp op) => _ops[(int)op];

        public override int InitThread(int required, out int provided) => _initThread(0, 0, required, out provided);
        public override int Initialized(out int flag) => _initialized(out flag);
        public override int Finalized(out int flag) => _finalized(out flag);
        public override int Finalize() => _finalize();
        public override int Abort(nint comm, int errorCode) => _abort(comm, errorCode);
        public override int CommRank(nint comm, out int rank) => _commRank(comm, out rank);
        public override int CommSize(nint comm, out int size) => _commSize(comm, out size);
        public override int CommSplit(nint comm, int color, int key, out nint newComm) => _commSplit(comm, color, key, out newComm);
        public override int CommDup(nint comm, out nint newComm) => _commDup(comm, out newComm);
        public override int CommFree(nint comm) => _commFree(ref comm);
        public override int Barrier(nint comm) => _barrier(comm);
        public override int Bcast(nint buffer, int count, nint type, int root, nint comm) => _bcast(buffer, count, type, root, comm);
        public override int Allreduce(nint send, nint receive, int count, nint type, nint op, nint comm) => _allreduce(send, receive, count, type, op, comm);
        public override int Allgather(nint send, int sendCount, nint sendType, nint receive, int receiveCount, nint receiveType, nint comm)
            => _allgather(send, sendCount, sendType, receive, receiveCount, receiveType, comm);
        public override int Allgatherv(nint send, int sendCount, nint sendType, nint receive, int[] receiveCounts, int[] displacements, nint receiveType, nint comm)
            => _allgatherv(send, sendCount, sendType, receive, receiveCounts, displacements, receiveType, comm);
        public override int ReduceScatter(nint send, nint receive, int[] receiveCounts, nint type, nint op, nint comm)
            => _reduceScatter(send, receive, receiveCounts, type, op, comm);

        // The C signatures, from the MPI standard, with pointer-sized handles.
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int InitThreadFn(nint argc, nint argv, int required, out int provided);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int FlagFn(out int flag);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int NoArgumentFn();
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int AbortFn(nint comm, int errorCode);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int CommIntFn(nint comm, out int value);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int CommSplitFn(nint comm, int color, int key, out nint newComm);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int CommDupFn(nint comm, out nint newComm);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int CommFreeFn(ref nint comm);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int BarrierFn(nint comm);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int BcastFn(nint buffer, int count, nint type, int root, nint comm);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int AllgatherFn(nint send, int sendCount, nint sendType, nint receive, int receiveCount, nint receiveType, nint comm);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int AllgathervFn(nint send, int sendCount, nint sendType, nint receive, int[] receiveCounts, int[] displacements, nint receiveType, nint comm);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int ReduceScatterFn(nint send, nint receive, int[] receiveCounts, nint type, nint op, nint comm);
    }
}
