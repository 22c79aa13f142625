using System.Collections.Generic;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    /// <summary>
    /// Which part of a full (unsharded) tensor one rank's parameter holds: <see cref="Length"/> elements from <see cref="Start"/>
    /// along <see cref="Dim"/> of a full dimension of <see cref="FullLength"/>. Consecutive groups of <see cref="Replicas"/> ranks
    /// hold the same slice (key/value heads when there are fewer of them than ranks; 1 otherwise).
    /// </summary>
    /// <param name="Dim">The split dimension of the full tensor.</param>
    /// <param name="Start">First element of this rank's slice along <paramref name="Dim"/>.</param>
    /// <param name="Length">Elements in this rank's slice.</param>
    /// <param name="FullLength">Elements of the full tensor along <paramref name="Dim"/>.</param>
    /// <param name="Replicas">How many consecutive ranks hold this same slice.</param>
    public readonly record struct ShardSpec(int Dim, long Start, long Length, long FullLength, int Replicas = 1);

    /// <summary>A module whose parameters are slices of full tensors: it says which slice each one is.</summary>
    public interface ITensorParallelModule
    {
        /// <summary>The sharded parameters by their local state_dict name; a parameter not listed is replicated whole.</summary>
        IReadOnlyDictionary<string, ShardSpec> Shards { get; }
    }

    /// <summary>Helpers to build shard specs.</summary>
    internal static class Shard
    {
        public static ShardSpec Even(int dim, long full, int rank, int size) => new(dim, full / size * rank, full / size, full);

        public static Tensor Slice(Tensor full, ShardSpec spec) => full.narrow(spec.Dim, spec.Start, spec.Length);
    }
}
