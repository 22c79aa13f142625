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
        public override void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum) => Validate(tensor, op);

        /// <inheritdoc/>
        public override Tensor AllGather(Tensor tensor)
        {
            Validate(tensor, ReduceOp.Sum);
            if (tensor.dim() == 0)
                throw new ArgumentException("AllGather concatenates along dimension 0, which a 0-dimensional tensor lacks; reshape it to [1] first.", nameof(tensor));
            return tensor.clone();
        }

        /// <inheritdoc/>
        public override Tensor ReduceScatter(Tensor tensor, ReduceOp op = ReduceOp.Sum, long[]? counts = null)
        {
            Validate(tensor, op);
            if (tensor.dim() == 0)
                throw new ArgumentException("ReduceScatter splits dimension 0, which a 0-dimensional tensor lacks.", nameof(tensor));
            if (counts is not null && (counts.Length != 1 || counts[0] != tensor.shape[0]))
                throw new ArgumentException($"A one-rank group takes counts of one element equal to the first dimension ({tensor.shape[0]}).", nameof(counts));
            return tensor.clone();
        }

        /// <inheritdoc/>
        public override void Broadcast(Tensor tensor, int root = 0)
        {
            Validate(tensor, ReduceOp.Sum);
            if (root != 0) throw new ArgumentOutOfRangeException(nameof(root), root, "A one-rank group has only rank 0.");
        }

        /// <inheritdoc/>
        public override void Barrier() { }

        /// <inheritdoc/>
        public override ProcessGroup Split(int color, int key) => this;

        /// <inheritdoc/>
        public override void Dispose() { }

        // The same checks as the MPI group makes, so code that runs on one rank does not first fail on two.
        private static void Validate(Tensor tensor, ReduceOp op)
        {
            ArgumentNullException.ThrowIfNull(tensor);
            var transport = ElementTransport.Of(tensor.dtype);
            if (op == ReduceOp.Average && transport.IsInteger)
                throw new ArgumentException($"An average of {transport.Dtype} values has no single rounding; use ReduceOp.Sum and divide as you need.", nameof(op));
        }
    }
}
