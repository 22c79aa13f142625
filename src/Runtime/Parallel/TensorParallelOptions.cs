using System;
using ModelGen.Distributed;

namespace ModelGen.Parallel
{
    /// <summary>
    /// What every tensor-parallel module of a model shares: the tensor-parallel group, whether sequence parallelism is on,
    /// and the seed its weights are initialized from. The generator builds one from <see cref="ParallelGrid.TensorParallel"/>
    /// and passes it to each sharded block's constructor.
    /// </summary>
    public sealed class TensorParallelOptions
    {
        /// <summary>Creates the options.</summary>
        /// <param name="group">The tensor-parallel group (a world of one gives plain, unsharded modules).</param>
        /// <param name="sequenceParallel">Keep activations outside the tensor-parallel regions split along the sequence
        /// (Korthikanti et al. 2022, §4.2.2): norms and dropout work on <c>s/t</c> positions per rank.</param>
        /// <param name="seed">Seed of the weights' initialization (see <see cref="ShardedInit"/>).</param>
        public TensorParallelOptions(ProcessGroup group, bool sequenceParallel = false, long seed = 0)
        {
            Group = group ?? throw new ArgumentNullException(nameof(group));
            SequenceParallel = sequenceParallel;
            Seed = seed;
        }

        /// <summary>The tensor-parallel group.</summary>
        public ProcessGroup Group { get; }

        /// <summary>The tensor-parallel degree.</summary>
        public int Degree => Group.Size;

        /// <summary>This rank's index in the tensor-parallel group.</summary>
        public int Rank => Group.Rank;

        /// <summary>Whether activations between regions are split along the sequence.</summary>
        public bool SequenceParallel { get; }

        /// <summary>Seed of the weights' initialization.</summary>
        public long Seed { get; }

        /// <summary>
        /// For generated models: the model's output head (a column-parallel Linear of the model class, or a head tied to a
        /// vocab-parallel embedding) returns this rank's <c>V/t</c> logits instead of gathering all <c>V</c>, for
        /// <see cref="VocabParallelCrossEntropy.Loss"/> (what the memory model counts: no rank holds the full logits).
        /// False (the default) gathers them, so any loss of full logits works.
        /// </summary>
        public bool VocabParallelLogits { get; init; }

        /// <summary>A per-weight seed, so two weights of one model do not draw the same numbers.</summary>
        internal long SeedFor(string name) => unchecked(Seed * 31 + StableHash(name));

        /// <summary>Throws a start-up error naming the quantity when <see cref="Degree"/> does not divide it.</summary>
        internal void RequireDivisible(long count, string what, string remedy = "change the model")
        {
            if (count % Degree != 0)
                throw new ArgumentException(
                    $"The tensor-parallel degree {Degree} does not divide {what} = {count}: each rank must hold an equal part. " +
                    $"Choose a degree that divides {count}, or {remedy}.");
        }

        private static long StableHash(string name)
        {
            long hash = 1469598103934665603;
            foreach (var c in name) hash = unchecked((hash ^ c) * 1099511628211);
            return hash;
        }
    }
}
