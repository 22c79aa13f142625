using System;
using ModelGen.Distributed;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    /// <summary>
    /// The autograd-aware collectives at the edges of a tensor-parallel region (Megatron-LM's mappings: Shoeybi et al. 2019, §3;
    /// Korthikanti et al. 2022, §4.2.2 for sequence parallelism). Each is a differentiable function whose backward runs the
    /// conjugate collective; every rank of <c>group</c> must call the same ones in the same order, in forward and in backward.
    /// Sequence functions take ModelGen's batch-first layout <c>[batch, seq, ...]</c>: the sequence is dimension 1.
    /// </summary>
    /// <remarks>A collective that fails in backward is recorded with <see cref="BackwardFailures"/> and rethrown by
    /// <see cref="BackwardFailures.Backward"/> (or the next ModelGen optimizer step), never thrown inside the autograd engine.</remarks>
    public static class TensorParallelRegion
    {
        /// <summary>The sequence dimension of ModelGen's <c>[batch, seq, hidden]</c> activations.</summary>
        public const long SequenceDim = 1;

        /// <summary>Identity forward, all-reduce (sum) of the gradient backward: a replicated input entering the region (Megatron's f).</summary>
        public static Tensor CopyTo(Tensor input, ProcessGroup group) => Apply(RegionOp.CopyTo, group, -1, input);

        /// <summary>All-reduce (sum) forward, identity backward: partial sums leaving the region (Megatron's g).</summary>
        public static Tensor ReduceFrom(Tensor input, ProcessGroup group) => Apply(RegionOp.ReduceFrom, group, -1, input);

        /// <summary>All-gather along the last dimension forward, keep this rank's slice of the gradient backward.</summary>
        public static Tensor GatherLastDim(Tensor input, ProcessGroup group) => Apply(RegionOp.GatherLastDim, group, -1, input);

        /// <summary>Keep this rank's slice of the last dimension forward, all-gather the gradient backward.</summary>
        public static Tensor SplitLastDim(Tensor input, ProcessGroup group) => Apply(RegionOp.SplitLastDim, group, -1, input);

        /// <summary>All-gather the sequence shards forward, reduce-scatter the gradient backward (sequence parallel's g).</summary>
        public static Tensor GatherSequence(Tensor input, ProcessGroup group) => Apply(RegionOp.GatherSequence, group, SequenceDim, input);

        /// <summary>Reduce-scatter partial sums to sequence shards forward, all-gather the gradient backward (sequence parallel's ḡ).</summary>
        public static Tensor ScatterSequence(Tensor input, ProcessGroup group) => Apply(RegionOp.ScatterSequence, group, SequenceDim, input);

        /// <summary>Keep this rank's sequence shard of a replicated tensor forward, all-gather the gradient backward.</summary>
        public static Tensor SplitSequence(Tensor input, ProcessGroup group) => Apply(RegionOp.SplitSequence, group, SequenceDim, input);

        /// <summary>
        /// Wall time this process has spent inside tensor-parallel collectives (the regions' all-reduces, all-gathers and
        /// reduce-scatters, and the vocab-parallel cross-entropy's all-reduces) since <see cref="ResetCommunicationTime"/>:
        /// the communication share of a step is this over the step's time.
        /// </summary>
        public static TimeSpan CommunicationTime => Collective.Elapsed;

        /// <summary>Starts <see cref="CommunicationTime"/> again from zero.</summary>
        public static void ResetCommunicationTime() => Collective.Reset();

        private static Tensor Apply(RegionOp op, ProcessGroup group, long dim, Tensor input)
        {
            ArgumentNullException.ThrowIfNull(group);
            ArgumentNullException.ThrowIfNull(input);
            // Checked here, before the autograd function runs, so the caller gets the message rather than a failed node.
            if (op is RegionOp.ScatterSequence or RegionOp.SplitSequence && (input.dim() < 2 || input.shape[SequenceDim] % group.Size != 0))
                throw new ArgumentException(
                    $"Sequence parallelism splits [{string.Join(", ", input.shape)}] along the sequence (dimension {SequenceDim}) over {group.Size} ranks: " +
                    $"the sequence length must be a multiple of the degree {group.Size}.", nameof(input));
            if (op is RegionOp.SplitLastDim && input.shape[^1] % group.Size != 0)
                throw new ArgumentException($"The last dimension of [{string.Join(", ", input.shape)}] does not split over {group.Size} ranks.", nameof(input));
            return RegionFunction.apply(op, group, dim, input);
        }
    }
}
