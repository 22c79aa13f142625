using System;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    /// <summary>
    /// A generated <c>[Dropout]</c> block in a tensor-parallel layer with sequence parallelism: each rank holds a different
    /// sequence shard, so each draws its mask from its own <see cref="TensorParallelRng"/> stream (Megatron-LM's rule for
    /// dropout on sequence-parallel regions, Korthikanti et al. 2022, §4.2.2); nn.Dropout on the default generator would draw
    /// the same mask on every rank's different elements. No parameters and no state_dict entries, as nn.Dropout.
    /// </summary>
    public sealed class ParallelDropout : nn.Module<Tensor, Tensor>
    {
        /// <summary>Creates the block.</summary>
        /// <param name="probability">Drop probability in [0, 1).</param>
        /// <param name="options">The tensor-parallel group; with sequence parallelism each rank draws its own mask.</param>
        /// <exception cref="ArgumentException"><paramref name="probability"/> is outside [0, 1).</exception>
        public ParallelDropout(double probability, TensorParallelOptions options) : base(nameof(ParallelDropout))
        {
            if (!(probability >= 0 && probability < 1))
                throw new ArgumentException($"Dropout probability must be in [0, 1), but it is {probability}.", nameof(probability));
            Options = options ?? throw new ArgumentNullException(nameof(options));
            Probability = probability;
        }

        /// <summary>Drop probability.</summary>
        public double Probability { get; }

        /// <summary>The options the block was built with.</summary>
        public TensorParallelOptions Options { get; }

        /// <summary>Inverted dropout in training (per-rank masks with sequence parallelism), identity in evaluation.</summary>
        /// <param name="input">The activation (a sequence shard with sequence parallelism).</param>
        /// <returns>The same shape.</returns>
        public override Tensor forward(Tensor input) =>
            TensorParallelRng.Dropout(input, Probability, training, Options, perRank: Options.SequenceParallel);
    }
}
