using System;
using static TorchSharp.torch;

namespace ModelGen.Distributed
{
    /// <summary>
    /// The group of a process started without a launcher: one rank, and every collective is the identity. It needs no MPI
    /// library, so single-process training and tests run the same code as a distributed job.
    /// </summary>
    public sealed class SingleProcessGroup : ProcessGroup
    {
        /// <summary>The one-rank group.</summary>
        public static SingleProcessGroup Instance { get; } = new();

        private SingleProcessGroup() { }

        /// <inheritdoc/>
        public override int Rank => 0;

        /// <inheritdoc/>
        public override int Size => 1;

        /// <inheritdoc/>
        public override void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum) => ArgumentNullException.ThrowIfNull(tensor);

        /// <inheritdoc/>
        public override Tensor AllGather(Tensor tensor)
        {
            ArgumentNullException.ThrowIfNull(tensor);
            return tensor.clone();
        }

        /// <inheritdoc/>
        public override Tensor ReduceScatter(Tensor tensor, ReduceOp op = ReduceOp.Sum, long[]? counts = null)
        {
            ArgumentNullException.ThrowIfNull(tensor);
            if (counts is not null && (counts.Length != 1 || counts[0] != tensor.shape[0]))
                throw new ArgumentException($"A one-rank group takes counts of one element equal to the first dimension ({tensor.shape[0]}).", nameof(counts));
            return tensor.clone();
        }

        /// <inheritdoc/>
        public override void Broadcast(Tensor tensor, int root = 0)
        {
            ArgumentNullException.ThrowIfNull(tensor);
            if (root != 0) throw new ArgumentOutOfRangeException(nameof(root), root, "A one-rank group has only rank 0.");
        }

        /// <inheritdoc/>
        public override void Barrier() { }

        /// <inheritdoc/>
        public override ProcessGroup Split(int color, int key) => this;

        /// <inheritdoc/>
        public override void Dispose() { }
    }
}
