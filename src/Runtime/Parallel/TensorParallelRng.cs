using System;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    /// <summary>
    /// Dropout random streams for tensor parallelism, the role of Megatron-LM's model-parallel RNG tracker (Shoeybi et al. 2019,
    /// §3): outside the tensor-parallel regions every rank of a group holds the same activation and must drop the same
    /// elements, so dropout draws from the default generator (seeded alike on every rank); inside a region (and on sequence
    /// shards) each rank holds different elements and draws from its own stream.
    /// </summary>
    /// <remarks>
    /// A rank's stream is seeded, per call, with a number drawn from the default generator mixed with the rank. The default
    /// generator is the state <see cref="Checkpoint"/> captures and restores, so a checkpoint's recompute draws the same masks
    /// as the forward did, and a run is reproducible from its seed. Masks are drawn on the CPU.
    /// </remarks>
    public static class TensorParallelRng
    {
        /// <summary>Inverted dropout (<c>x · mask / (1 − p)</c>) in training, identity otherwise.</summary>
        /// <param name="input">The activation.</param>
        /// <param name="probability">Drop probability in [0, 1).</param>
        /// <param name="training">Whether the module is training.</param>
        /// <param name="options">The tensor-parallel group.</param>
        /// <param name="perRank">True inside a tensor-parallel region or on sequence shards: each rank draws its own mask.</param>
        /// <returns>The activation with dropout applied.</returns>
        public static Tensor Dropout(Tensor input, double probability, bool training, TensorParallelOptions options, bool perRank)
        {
            ArgumentNullException.ThrowIfNull(input);
            ArgumentNullException.ThrowIfNull(options);
            if (!(probability >= 0 && probability < 1)) throw new ArgumentException($"Dropout probability must be in [0, 1), but it is {probability}.", nameof(probability));
            if (!training || probability == 0) return input.alias();
            if (!perRank || options.Degree == 1) return nn.functional.dropout(input, probability, true);
            using var scope = NewDisposeScope();
            var drawn = randint(long.MaxValue, new long[] { 1 }, dtype: ScalarType.Int64).item<long>();
            using var generator = new Generator(unchecked((ulong)(drawn * 1_000_003 + options.Rank + 1)));
            var keep = rand(input.shape, generator: generator, dtype: ScalarType.Float32).ge(probability).to(input.device);
            return scope.MoveToOuter(input * keep.to(input.dtype) * (1.0 / (1 - probability)));
        }
    }
}
