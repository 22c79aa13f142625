using System;
using System.Linq;
using ModelGen.Distributed.Mpi;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Distributed
{
    /// <summary>
    /// A process group over an MPI communicator: the world that <see cref="World"/> creates, or a sub-group from
    /// <see cref="Split"/>. CPU tensors go to MPI by their data pointer; device tensors are copied through a pinned host
    /// buffer and back (the slow path, until a device-native backend sits behind <see cref="ProcessGroup"/>).
    /// </summary>
    /// <remarks>
    /// Every rank must pass tensors of the same dtype and, for <see cref="AllReduce"/>, <see cref="Broadcast"/> and
    /// <see cref="ReduceScatter"/>, the same shape, as with MPI itself: checking it would cost a second message per call.
    /// <see cref="AllGather"/> exchanges the shapes anyway (the first dimensions may differ) and checks them on every rank,
    /// so a mismatch raises the same error everywhere rather than hanging.
    /// </remarks>
    public sealed class MpiProcessGroup : ProcessGroup
    {
        // One MPI call carries at most int.MaxValue elements (the C interface's count is an int); larger all-reduces and
        // broadcasts are cut into pieces of this many elements.
        private const int ChunkElements = 1 << 30;

        private readonly MpiLibrary _mpi;
        private readonly bool _ownsCommunicator;
        private nint _communicator;

        internal MpiProcessGroup(MpiLibrary mpi, nint communicator, bool ownsCommunicator)
        {
            _mpi = mpi;
            _communicator = communicator;
            _ownsCommunicator = ownsCommunicator;
            Check(mpi.CommRank(communicator, out var rank), "MPI_Comm_rank");
            Check(mpi.CommSize(communicator, out var size), "MPI_Comm_size");
            Rank = rank;
            Size = size;
        }

        /// <inheritdoc/>
        public override int Rank { get; }

        /// <inheritdoc/>
        public override int Size { get; }

        /// <inheritdoc/>
        public override void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum)
        {
            ArgumentNullException.ThrowIfNull(tensor);
            ThrowIfDisposed();
            var facts = TensorMemory.Facts(tensor);
            var transport = ElementTransport.Of(facts.Dtype);
            CheckAverage(transport, op);
            // The common case first, with no tensor operation (and so no grad-mode switch) around the MPI call.
            if (transport.ReductionDtype(op) is null && facts.ContiguousOnCpu)
            {
                ReduceInPlace(tensor, facts.Elements, transport.Type, op);
                return;
            }
            using var noGrad = torch.no_grad();
            if (transport.ReductionDtype(op) is { } wideDtype)
            {
                // Widen, reduce (and average) in the wider type, narrow once when copying back.
                using var wide = tensor.to(wideDtype, CPU).contiguous();
                ReduceInPlace(wide, ElementTransport.TypeOf(wideDtype), op);
                using var narrow = transport.Narrow(wide);
                tensor.copy_(narrow);
                return;
            }
            using var staged = HostCopy(tensor);
            ReduceInPlace(staged, transport.Type, op);
            tensor.copy_(staged);
        }

        /// <inheritdoc/>
        public override Tensor AllGather(Tensor tensor)
        {
            var transport = Validate(tensor);
            if (tensor.dim() == 0)
                throw new ArgumentException("AllGather concatenates along dimension 0, which a 0-dimensional tensor lacks; reshape it to [1] first.", nameof(tensor));
            using var noGrad = torch.no_grad();
            var rowShape = tensor.shape.Skip(1).ToArray();
            var rowElements = rowShape.Aggregate(1L, (a, b) => a * b);
            var rows = GatherShapes(tensor.shape[0], rowElements, tensor.dtype);

            var totalRows = rows.Sum();
            if (totalRows * rowElements > int.MaxValue)
                throw new NotSupportedException($"AllGather of {totalRows * rowElements} elements exceeds MPI's int count ({int.MaxValue}); gather in pieces.");
            var send = tensor.device_type == DeviceType.CPU && tensor.is_contiguous() ? tensor : HostCopy(tensor);
            try
            {
                var result = torch.empty(new[] { totalRows }.Concat(rowShape).ToArray(), tensor.dtype, CPU);
                var type = _mpi.Type(transport.Type);
                var counts = rows.Select(r => (int)(r * rowElements)).ToArray();
                if (counts.All(c => c == counts[0]))
                {
                    Check(_mpi.Allgather(TensorMemory.DataPointer(send), counts[0], type, TensorMemory.DataPointer(result), counts[0], type, _communicator), "MPI_Allgather");
                }
                else
                {
                    var displacements = new int[counts.Length];
                    for (var i = 1; i < counts.Length; i++) displacements[i] = displacements[i - 1] + counts[i - 1];
                    Check(_mpi.Allgatherv(TensorMemory.DataPointer(send), counts[Rank], type, TensorMemory.DataPointer(result), counts, displacements, type, _communicator), "MPI_Allgatherv");
                }
                return ToDeviceOf(result, tensor);
            }
            finally
            {
                if (!ReferenceEquals(send, tensor)) send.Dispose();
            }
        }

        /// <inheritdoc/>
        public override Tensor ReduceScatter(Tensor tensor, ReduceOp op = ReduceOp.Sum, long[]? counts = null)
        {
            var transport = Validate(tensor);
            CheckAverage(transport, op);
            if (tensor.dim() == 0)
                throw new ArgumentException("ReduceScatter splits dimension 0, which a 0-dimensional tensor lacks.", nameof(tensor));
            var rowsPerRank = RowsPerRank(tensor.shape[0], counts);
            using var noGrad = torch.no_grad();
            var rowShape = tensor.shape.Skip(1).ToArray();
            var rowElements = rowShape.Aggregate(1L, (a, b) => a * b);
            if (tensor.numel() > int.MaxValue)
                throw new NotSupportedException($"ReduceScatter of {tensor.numel()} elements exceeds MPI's int count ({int.MaxValue}); reduce in pieces.");

            var wideDtype = transport.ReductionDtype(op);
            var reductionType = wideDtype is { } wide ? ElementTransport.TypeOf(wide) : transport.Type;
            var send = wideDtype is { } widened ? tensor.to(widened, CPU).contiguous()
                : tensor.device_type == DeviceType.CPU && tensor.is_contiguous() ? tensor : HostCopy(tensor);
            try
            {
                var mine = torch.empty(new[] { rowsPerRank[Rank] }.Concat(rowShape).ToArray(), send.dtype, CPU);
                var elementCounts = rowsPerRank.Select(r => (int)(r * rowElements)).ToArray();
                Check(_mpi.ReduceScatter(TensorMemory.DataPointer(send), TensorMemory.DataPointer(mine), elementCounts,
                    _mpi.Type(reductionType), _mpi.Op(ToMpi(op)), _communicator), "MPI_Reduce_scatter");
                if (op == ReduceOp.Average) mine.div_(Size);
                if (wideDtype is not null)
                {
                    var narrow = transport.Narrow(mine);
                    mine.Dispose();
                    mine = narrow;
                }
                return ToDeviceOf(mine, tensor);
            }
            finally
            {
                if (!ReferenceEquals(send, tensor)) send.Dispose();
            }
        }

        /// <inheritdoc/>
        public override void Broadcast(Tensor tensor, int root = 0)
        {
            var transport = Validate(tensor);
            if (root < 0 || root >= Size)
                throw new ArgumentOutOfRangeException(nameof(root), root, $"The root must be a rank of this group (0 to {Size - 1}).");
            if (tensor.device_type == DeviceType.CPU && tensor.is_contiguous())
            {
                BroadcastContiguous(tensor, transport.Type, root);
                return;
            }
            using var noGrad = torch.no_grad();
            using var staged = HostCopy(tensor);
            BroadcastContiguous(staged, transport.Type, root);
            tensor.copy_(staged);
        }

        /// <inheritdoc/>
        public override void Barrier()
        {
            ThrowIfDisposed();
            Check(_mpi.Barrier(_communicator), "MPI_Barrier");
        }

        /// <inheritdoc/>
        public override ProcessGroup Split(int color, int key)
        {
            ThrowIfDisposed();
            // MPI_UNDEFINED (a negative value) would leave this rank without a group; every rank gets one here.
            if (color < 0) throw new ArgumentOutOfRangeException(nameof(color), color, "The color must be zero or positive.");
            Check(_mpi.CommSplit(_communicator, color, key, out var communicator), "MPI_Comm_split");
            return new MpiProcessGroup(_mpi, communicator, ownsCommunicator: true);
        }

        /// <summary>A second communicator over the same ranks, for collectives issued from another thread (e.g. gradient buckets during backward) so that they never interleave with this group's.</summary>
        public MpiProcessGroup Duplicate()
        {
            ThrowIfDisposed();
            Check(_mpi.CommDup(_communicator, out var communicator), "MPI_Comm_dup");
            return new MpiProcessGroup(_mpi, communicator, ownsCommunicator: true);
        }

        /// <inheritdoc/>
        public override void Dispose()
        {
            if (_communicator != 0 && _ownsCommunicator && !World.IsFinalized)
                _mpi.CommFree(_communicator);
            _communicator = 0;
            base.Dispose();
        }

        private void ReduceInPlace(Tensor buffer, MpiType type, ReduceOp op) => ReduceInPlace(buffer, buffer.numel(), type, op);

        private void ReduceInPlace(Tensor buffer, long total, MpiType type, ReduceOp op)
        {
            long offset = 0;
            var pointer = total == 0 ? 0 : TensorMemory.CheckedDataPointer(buffer); // the callers pass contiguous CPU tensors
            var elementSize = ElementTransport.SizeOf(type);
            do
            {
                var count = (int)Math.Min(ChunkElements, total - offset);
                Check(_mpi.Allreduce(_mpi.InPlace, pointer + (nint)(offset * elementSize), count, _mpi.Type(type), _mpi.Op(ToMpi(op)), _communicator), "MPI_Allreduce");
                offset += count;
            }
            while (offset < total);
            if (op == ReduceOp.Average)
            {
                using var noGrad = torch.no_grad();
                buffer.div_(Size);
            }
        }

        private void BroadcastContiguous(Tensor buffer, MpiType type, int root)
        {
            var pointer = TensorMemory.DataPointer(buffer);
            long elementSize = buffer.element_size(), total = buffer.numel(), offset = 0;
            do
            {
                var count = (int)Math.Min(ChunkElements, total - offset);
                Check(_mpi.Bcast(pointer + (nint)(offset * elementSize), count, _mpi.Type(type), root, _communicator), "MPI_Bcast");
                offset += count;
            }
            while (offset < total);
        }

        // Every rank's first dimension, after checking on every rank that the rows and dtype agree (so all raise the same error).
        private long[] GatherShapes(long rows, long rowElements, ScalarType dtype)
        {
            using var header = torch.tensor(new[] { rows, rowElements, (long)dtype }, ScalarType.Int64);
            using var all = torch.empty(new long[] { Size, 3 }, ScalarType.Int64);
            var type = _mpi.Type(MpiType.Int64);
            Check(_mpi.Allgather(TensorMemory.DataPointer(header), 3, type, TensorMemory.DataPointer(all), 3, type, _communicator), "MPI_Allgather");
            var values = all.data<long>().ToArray();
            for (var r = 0; r < Size; r++)
            {
                if (values[3 * r + 1] != rowElements || values[3 * r + 2] != (long)dtype)
                    throw new ArgumentException(
                        $"AllGather needs the same dtype and the same size beyond dimension 0 on every rank: rank {r} has {(ScalarType)values[3 * r + 2]} rows of " +
                        $"{values[3 * r + 1]} elements, rank {Rank} has {dtype} rows of {rowElements}.");
            }
            return Enumerable.Range(0, Size).Select(r => values[3 * r]).ToArray();
        }

        private long[] RowsPerRank(long rows, long[]? counts)
        {
            if (counts is null)
            {
                if (rows % Size != 0)
                    throw new ArgumentException($"ReduceScatter without counts needs a first dimension divisible by the group size: {rows} rows over {Size} ranks. Pass counts for uneven shares.");
                return Enumerable.Repeat(rows / Size, Size).ToArray();
            }
            if (counts.Length != Size || counts.Any(c => c < 0) || counts.Sum() != rows)
                throw new ArgumentException($"ReduceScatter's counts must give {Size} non-negative row counts adding up to the first dimension ({rows}); got [{string.Join(", ", counts)}].", nameof(counts));
            return counts;
        }

        private static void CheckAverage(ElementTransport transport, ReduceOp op)
        {
            if (op == ReduceOp.Average && transport.IsInteger)
                throw new ArgumentException($"An average of {transport.Dtype} values has no single rounding; use ReduceOp.Sum and divide as you need.", nameof(op));
        }

        private ElementTransport Validate(Tensor tensor)
        {
            ArgumentNullException.ThrowIfNull(tensor);
            ThrowIfDisposed();
            return ElementTransport.Of(tensor.dtype);
        }

        private void ThrowIfDisposed()
        {
            ObjectDisposedException.ThrowIf(_communicator == 0, this);
            if (World.IsFinalized) throw new InvalidOperationException("MPI has been finalized (the process is exiting); no collective can run.");
        }

        // A contiguous CPU copy of a device or strided tensor; pinned when it stages a device tensor, so the copies run at full speed.
        private static Tensor HostCopy(Tensor tensor)
        {
            if (tensor.device_type == DeviceType.CPU) return tensor.contiguous();
            var host = torch.empty(tensor.shape, tensor.dtype, CPU).pin_memory();
            host.copy_(tensor);
            return host;
        }

        private static Tensor ToDeviceOf(Tensor result, Tensor like)
        {
            if (like.device_type == DeviceType.CPU) return result;
            var moved = result.to(like.device);
            result.Dispose();
            return moved;
        }

        private static MpiOp ToMpi(ReduceOp op) => op switch
        {
            ReduceOp.Sum or ReduceOp.Average => MpiOp.Sum,
            ReduceOp.Max => MpiOp.Max,
            ReduceOp.Min => MpiOp.Min,
            _ => throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown reduction."),
        };

        private static void Check(int code, string function)
        {
            if (code != 0) throw new InvalidOperationException($"{function} failed with MPI error code {code}.");
        }
    }
}
