using System;

namespace ModelGen.Distributed
{
    /// <summary>
    /// The world arranged as a tensor-parallel × data-parallel grid, as Megatron-LM arranges it: the ranks of one
    /// tensor-parallel group are consecutive (rank = data-parallel index × TP + tensor-parallel index), so on a cluster they
    /// share a node and its fast links, and each data-parallel group takes one rank from every tensor-parallel group.
    /// </summary>
    /// <example>
    /// With 4 ranks, TP 2 × DP 2: tensor-parallel groups {0, 1} and {2, 3}; data-parallel groups {0, 2} and {1, 3}.
    /// </example>
    public sealed class ParallelGrid : IDisposable
    {
        private ParallelGrid(ProcessGroup world, int tensorParallelSize, int dataParallelSize)
        {
            World = world;
            TensorParallelSize = tensorParallelSize;
            DataParallelSize = dataParallelSize;
            TensorParallelRank = world.Rank % tensorParallelSize;
            DataParallelRank = world.Rank / tensorParallelSize;
            // Same data-parallel index → same tensor-parallel group; same tensor-parallel index → same data-parallel group.
            TensorParallel = world.Split(DataParallelRank, TensorParallelRank);
            DataParallel = world.Split(TensorParallelRank, DataParallelRank);
        }

        /// <summary>The group the grid was made from.</summary>
        public ProcessGroup World { get; }

        /// <summary>This rank's tensor-parallel group: the ranks that hold the other shards of the same layers.</summary>
        public ProcessGroup TensorParallel { get; }

        /// <summary>This rank's data-parallel group: the ranks that hold the same shard and see other batches.</summary>
        public ProcessGroup DataParallel { get; }

        /// <summary>The tensor-parallel degree.</summary>
        public int TensorParallelSize { get; }

        /// <summary>The data-parallel degree.</summary>
        public int DataParallelSize { get; }

        /// <summary>This rank's index in its tensor-parallel group (which shard it holds).</summary>
        public int TensorParallelRank { get; }

        /// <summary>This rank's index in its data-parallel group (which part of the batch it sees).</summary>
        public int DataParallelRank { get; }

        /// <summary>
        /// Builds the grid on every rank of <paramref name="world"/> (a collective: every rank must call it with the same degrees).
        /// </summary>
        /// <exception cref="ArgumentOutOfRangeException">A degree is below 1.</exception>
        /// <exception cref="InvalidOperationException">
        /// The world's size is not <paramref name="tensorParallel"/> × <paramref name="dataParallel"/>: the plan and the launch
        /// disagree, and the message says how many ranks to launch.
        /// </exception>
        public static ParallelGrid Create(ProcessGroup world, int tensorParallel, int dataParallel)
        {
            ArgumentNullException.ThrowIfNull(world);
            if (tensorParallel < 1) throw new ArgumentOutOfRangeException(nameof(tensorParallel), tensorParallel, "The tensor-parallel degree must be at least 1.");
            if (dataParallel < 1) throw new ArgumentOutOfRangeException(nameof(dataParallel), dataParallel, "The data-parallel degree must be at least 1.");
            if ((long)tensorParallel * dataParallel != world.Size)
                throw new InvalidOperationException(
                    $"The parallel plan needs tensor-parallel {tensorParallel} × data-parallel {dataParallel} = {(long)tensorParallel * dataParallel} ranks, " +
                    $"but this job has {world.Size}. Launch it with mpirun -np {(long)tensorParallel * dataParallel}, or change the plan.");
            return new ParallelGrid(world, tensorParallel, dataParallel);
        }

        /// <summary>Releases the two sub-groups (not <see cref="World"/>).</summary>
        public void Dispose()
        {
            TensorParallel.Dispose();
            DataParallel.Dispose();
        }
    }
}
