using System;
using System.Runtime.InteropServices;

namespace ModelGen.Distributed.Mpi
{
    /// <summary>
    /// MPICH's ABI (libmpi.so.12), shared by Intel MPI, Cray MPICH and MVAPICH: every handle is a 32-bit integer and the
    /// predefined ones are constants fixed by MPICH's mpi.h (MPI_COMM_WORLD 0x44000000, MPI_FLOAT 0x4c00040a, MPI_SUM
    /// 0x58000003, …). Handles cross this class as <see cref="nint"/> and are narrowed to <see cref="int"/> at each call.
    /// </summary>
    /// <remarks>Not exercised by the test suite: the test root file system has Open MPI only (see docs/distributed.md).</remarks>
    internal sealed unsafe class MpichLibrary : MpiLibrary
    {
        // MPICH mpi.h: MPI_BYTE, MPI_INT8_T, MPI_UINT8_T, MPI_UINT16_T, MPI_INT32_T, MPI_INT64_T, MPI_FLOAT, MPI_DOUBLE.
        private static readonly int[] s_types = { 0x4c00010d, 0x4c000137, 0x4c00013b, 0x4c00023c, 0x4c000439, 0x4c00083a, 0x4c00040a, 0x4c00080b };
        // MPICH mpi.h: MPI_SUM, MPI_MAX, MPI_MIN.
        private static readonly int[] s_ops = { 0x58000003, 0x58000001, 0x58000002 };

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
        private readonly delegate* unmanaged[Cdecl]<nint, nint, int, int, int, int, int> _allreduce;
        private readonly AllgatherFn _allgather;
        private readonly AllgathervFn _allgatherv;
        private readonly ReduceScatterFn _reduceScatter;

        public MpichLibrary(nint library, string path) : base(library, path)
        {
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
            _allreduce = (delegate* unmanaged[Cdecl]<nint, nint, int, int, int, int, int>)Export("MPI_Allreduce");
            _allgather = Function<AllgatherFn>("MPI_Allgather");
            _allgatherv = Function<AllgathervFn>("MPI_Allgatherv");
            _reduceScatter = Function<ReduceScatterFn>("MPI_Reduce_scatter");
        }

        public override MpiFlavor Flavor => MpiFlavor.Mpich;
        public override nint CommWorld => 0x44000000; // MPICH mpi.h: MPI_COMM_WORLD
        public override nint InPlace => -1; // MPICH mpi.h: #define MPI_IN_PLACE (void *) -1
        public override nint Type(MpiType type) => s_types[(int)type];
        public override nint Op(MpiOp op) => s_ops[(int)op];

        public override int InitThread(int required, out int provided) => _initThread(0, 0, required, out provided);
        public override int Initialized(out int flag) => _initialized(out flag);
        public override int Finalized(out int flag) => _finalized(out flag);
        public override int Finalize() => _finalize();
        public override int Abort(nint comm, int errorCode) => _abort((int)comm, errorCode);
        public override int CommRank(nint comm, out int rank) => _commRank((int)comm, out rank);
        public override int CommSize(nint comm, out int size) => _commSize((int)comm, out size);

        public override int CommSplit(nint comm, int color, int key, out nint newComm)
        {
            var code = _commSplit((int)comm, color, key, out var handle);
            newComm = handle;
            return code;
        }

        public override int CommDup(nint comm, out nint newComm)
        {
            var code = _commDup((int)comm, out var handle);
            newComm = handle;
            return code;
        }

        public override int CommFree(nint comm)
        {
            var handle = (int)comm;
            return _commFree(ref handle);
        }

        public override int Barrier(nint comm) => _barrier((int)comm);
        public override int Bcast(nint buffer, int count, nint type, int root, nint comm) => _bcast(buffer, count, (int)type, root, (int)comm);
        public override int Allreduce(nint send, nint receive, int count, nint type, nint op, nint comm)
            => _allreduce(send, receive, count, (int)type, (int)op, (int)comm);
        public override int Allgather(nint send, int sendCount, nint sendType, nint receive, int receiveCount, nint receiveType, nint comm)
            => _allgather(send, sendCount, (int)sendType, receive, receiveCount, (int)receiveType, (int)comm);
        public override int Allgatherv(nint send, int sendCount, nint sendType, nint receive, int[] receiveCounts, int[] displacements, nint receiveType, nint comm)
            => _allgatherv(send, sendCount, (int)sendType, receive, receiveCounts, displacements, (int)receiveType, (int)comm);
        public override int ReduceScatter(nint send, nint receive, int[] receiveCounts, nint type, nint op, nint comm)
            => _reduceScatter(send, receive, receiveCounts, (int)type, (int)op, (int)comm);

        // The C signatures, from the MPI standard, with MPICH's integer handles.
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int InitThreadFn(nint argc, nint argv, int required, out int provided);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int FlagFn(out int flag);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int NoArgumentFn();
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int AbortFn(int comm, int errorCode);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int CommIntFn(int comm, out int value);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int CommSplitFn(int comm, int color, int key, out int newComm);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int CommDupFn(int comm, out int newComm);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int CommFreeFn(ref int comm);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int BarrierFn(int comm);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int BcastFn(nint buffer, int count, int type, int root, int comm);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int AllgatherFn(nint send, int sendCount, int sendType, nint receive, int receiveCount, int receiveType, int comm);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int AllgathervFn(nint send, int sendCount, int sendType, nint receive, int[] receiveCounts, int[] displacements, int receiveType, int comm);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int ReduceScatterFn(nint send, nint receive, int[] receiveCounts, int type, int op, int comm);
    }
}
