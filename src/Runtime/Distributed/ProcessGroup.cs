using System;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Distributed
{
    /// <summary>How a collective combines the ranks' values.</summary>
    public enum ReduceOp
    {
        /// <summary>Element-wise sum over the ranks.</summary>
        Sum,
        /// <summary>Element-wise sum divided by the group's size.</summary>
        Average,
        /// <summary>Element-wise maximum.</summary>
        Max,
        /// <summary>Element-wise minimum.</summary>
        Min,
    }

    /// <summary>
    /// A set of ranks (processes) that run collectives together: the whole world, or a tensor-parallel or data-parallel
    /// sub-group of it. Every member must call the same collectives in the same order with tensors of the same dtype;
    /// a collective acts on CPU tensors directly and on device tensors through host staging (the slow path, until a
    /// device-native backend sits behind this same class).
    /// </summary>
    /// <remarks>
    /// Collectives take contiguous tensors and work in place where their result has the input's shape (<see cref="AllReduce"/>,
    /// <see cref="Broadcast"/>); the others return a new tensor. Sizes may differ between ranks where a collective says so.
    /// A failure on one rank ends the whole job with a message naming that rank: a collective never waits forever on a dead peer.
    /// </remarks>
    public abstract class ProcessGroup : IDisposable
    {
        /// <summary>This process's index in the group, from 0 to <see cref="Size"/> − 1.</summary>
        public abstract int Rank { get; }

        /// <summary>The number of ranks in the group.</summary>
        public abstract int Size { get; }

        /// <summary>Combines <paramref name="tensor"/> over all ranks, in place: afterwards every rank holds the result.</summary>
        public abstract void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum);

        /// <summary>
        /// Concatenates every rank's <paramref name="tensor"/> along dimension 0, in rank order, on every rank. The ranks'
        /// first dimensions may differ; the other dimensions must agree.
        /// </summary>
        public abstract Tensor AllGather(Tensor tensor);

        /// <summary>
        /// Combines <paramref name="tensor"/> over all ranks and returns this rank's slice of the result along dimension 0.
        /// <paramref name="counts"/> gives each rank's number of rows (they must add up to the first dimension); without it the
        /// first dimension must divide evenly by <see cref="Size"/>.
        /// </summary>
        public abstract Tensor ReduceScatter(Tensor tensor, ReduceOp op = ReduceOp.Sum, long[]? counts = null);

        /// <summary>Copies <paramref name="tensor"/> from <paramref name="root"/> into every other rank's tensor of the same shape, in place.</summary>
        public abstract void Broadcast(Tensor tensor, int root = 0);

        /// <summary>Returns once every rank of the group has called it.</summary>
        public abstract void Barrier();

        /// <summary>
        /// Splits this group into sub-groups: ranks that pass the same <paramref name="color"/> form one, ordered by
        /// <paramref name="key"/> (then by their rank here). Every rank of this group must call it.
        /// </summary>
        public abstract ProcessGroup Split(int color, int key);

        /// <summary>Releases the group's resources (not the world's MPI environment).</summary>
        public virtual void Dispose() => GC.SuppressFinalize(this);
    }
}
