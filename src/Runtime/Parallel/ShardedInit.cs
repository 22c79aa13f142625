using System;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    /// <summary>
    /// Initializes one rank's slice of a weight without ever allocating the whole weight: row <c>r</c> of the full
    /// <c>[rows, columns]</c> matrix is drawn from its own generator seeded with <c>(seed, r)</c>, so the concatenation of every
    /// rank's slice is the same matrix at any tensor-parallel degree, and equals what degree 1 builds with the same seed.
    /// A column slice draws its rows whole, one at a time, and keeps its columns: one row is the largest temporary.
    /// </summary>
    public static class ShardedInit
    {
        /// <summary>
        /// Fills a slice of the full <c>[rows, columns]</c> matrix with U(−bound, bound) (nn.Linear's default is
        /// bound = 1/√fan_in, PyTorch's kaiming_uniform with a = √5).
        /// </summary>
        /// <param name="rows">Rows of the full matrix.</param>
        /// <param name="columns">Columns of the full matrix.</param>
        /// <param name="shard">This rank's slice: dimension 0 (rows) or 1 (columns).</param>
        /// <param name="bound">Half-width of the uniform distribution.</param>
        /// <param name="seed">The weight's seed; every rank passes the same one.</param>
        /// <param name="dtype">Element type of the result.</param>
        /// <param name="device">Device of the result.</param>
        /// <returns>The slice, <c>[shard.Length, columns]</c> or <c>[rows, shard.Length]</c>.</returns>
        public static Tensor Uniform(long rows, long columns, ShardSpec shard, double bound, long seed, ScalarType? dtype = null, Device? device = null)
            => Draw(rows, columns, shard, seed, dtype, device, (generator, n) => rand(new[] { n }, generator: generator, dtype: ScalarType.Float32).mul_(2 * bound).sub_(bound));

        /// <summary>Fills a slice of the full <c>[rows, columns]</c> matrix with N(0, 1) (nn.Embedding's default).</summary>
        /// <param name="rows">Rows of the full matrix.</param>
        /// <param name="columns">Columns of the full matrix.</param>
        /// <param name="shard">This rank's slice: dimension 0 (rows) or 1 (columns).</param>
        /// <param name="seed">The weight's seed; every rank passes the same one.</param>
        /// <param name="dtype">Element type of the result.</param>
        /// <param name="device">Device of the result.</param>
        /// <returns>The slice.</returns>
        public static Tensor Normal(long rows, long columns, ShardSpec shard, long seed, ScalarType? dtype = null, Device? device = null)
            => Draw(rows, columns, shard, seed, dtype, device, (generator, n) => randn(new[] { n }, generator: generator, dtype: ScalarType.Float32));

        private static Tensor Draw(long rows, long columns, ShardSpec shard, long seed, ScalarType? dtype, Device? device, Func<Generator, long, Tensor> draw)
        {
            if (shard.Dim is not (0 or 1)) throw new ArgumentException($"A matrix is split along dimension 0 or 1, not {shard.Dim}.", nameof(shard));
            var firstRow = shard.Dim == 0 ? shard.Start : 0;
            var rowCount = shard.Dim == 0 ? shard.Length : rows;
            var result = empty(new[] { rowCount, shard.Dim == 0 ? columns : shard.Length }, dtype: dtype ?? ScalarType.Float32, device: device);
            // A meta tensor has a shape and no storage: nothing to draw (a model too large for any one host is built this way).
            if (result.device_type == DeviceType.META)
                return result;
            using var noGrad = no_grad();
            for (long r = 0; r < rowCount; r++)
            {
                using var generator = new Generator(unchecked((ulong)(seed * 1_000_003 + firstRow + r)));
                using var scaled = draw(generator, columns);
                using var part = shard.Dim == 0 ? scaled : scaled.narrow(0, shard.Start, shard.Length);
                using var row = result[r]; // a view: left to the GC, it would keep a temporary slice's storage resident
                row.copy_(part);
            }
            return result;
        }

        /// <summary>PyTorch's nn.Linear bound for weights and biases, 1/√fan_in.</summary>
        public static double LinearBound(long inFeatures) => 1.0 / Math.Sqrt(inFeatures);
    }
}
