using System;
using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Nn
{
    /// <summary>
    /// T5's relative position bias (Raffel et al. 2020, §2.1): a learned table <c>weight [buckets, heads]</c>, read at the bucket of each
    /// key's offset from its query, giving one additive score bias per head, query and key. Offsets below half the buckets each get their
    /// own bucket; larger ones share log-spaced buckets up to <see cref="MaxDistance"/>, beyond which all share the last. Two-sided
    /// (an encoder) splits the buckets between keys before and after the query; one-sided (a decoder) buckets only keys before it.
    /// </summary>
    /// <remarks>
    /// Its state_dict key is <c>weight</c>; inside <see cref="RelativeAttention"/> it is <c>relative_attention_bias.weight</c>, the key
    /// of a Hugging Face T5 checkpoint's first layer. The lookup is an <c>index_select</c>, whose backward keeps the <c>q × k</c> int64
    /// bucket indices (counted by the memory model) and scatters the summed score gradients into the table.
    /// </remarks>
    public sealed class RelativePositionBias : nn.Module
    {
        [ComponentName(Name = "weight")]
        private readonly Parameter _weight;

        /// <summary>Creates the table, initialized from <c>N(0, initStd²)</c>.</summary>
        /// <param name="buckets">Rows of the table: at least 2 one-sided, 4 two-sided (a quarter, or a half one-sided, are exact offsets).</param>
        /// <param name="heads">Columns: one bias per head.</param>
        /// <param name="bidirectional">Two-sided buckets (keys after the query get their own half).</param>
        /// <param name="maxDistance">Offsets from here on share the last bucket; must exceed the exact offsets.</param>
        /// <param name="initStd">Standard deviation of the initial values.</param>
        /// <param name="dtype">Element type of the table; the default dtype when null.</param>
        /// <param name="device">Device of the table; the default device when null.</param>
        /// <exception cref="ArgumentException">A size is out of range.</exception>
        public RelativePositionBias(long buckets, long heads, bool bidirectional, long maxDistance, double initStd = 1.0, ScalarType? dtype = null, Device? device = null)
            : base(nameof(RelativePositionBias))
        {
            if (heads <= 0)
                throw new ArgumentException($"RelativePositionBias needs positive heads, but heads = {heads}.", nameof(heads));
            var exact = ExactOffsets(buckets, bidirectional);
            if (exact < 1)
                throw new ArgumentException(
                    $"RelativePositionBias needs at least {(bidirectional ? 4 : 2)} buckets {(bidirectional ? "two-sided" : "one-sided")} (a quarter, or half one-sided, are exact offsets), but buckets = {buckets}.", nameof(buckets));
            if (maxDistance <= exact)
                throw new ArgumentException(
                    $"RelativePositionBias MaxDistance = {maxDistance} must exceed the {exact} exact offsets of {buckets} {(bidirectional ? "two-sided" : "one-sided")} buckets (the log-spaced buckets span from there to MaxDistance).", nameof(maxDistance));
            if (!(initStd > 0) || double.IsInfinity(initStd))
                throw new ArgumentException($"RelativePositionBias initStd must be positive and finite, but it is {initStd}.", nameof(initStd));
            Buckets = buckets;
            Heads = heads;
            Bidirectional = bidirectional;
            MaxDistance = maxDistance;
            using (torch.no_grad())
                _weight = new Parameter(torch.empty(buckets, heads, dtype: dtype, device: device).normal_(0, initStd));
            RegisterComponents();
        }

        /// <summary>Rows of the table.</summary>
        public long Buckets { get; }

        /// <summary>Columns of the table.</summary>
        public long Heads { get; }

        /// <summary>Whether keys after the query have their own buckets.</summary>
        public bool Bidirectional { get; }

        /// <summary>Offsets from here on share the last bucket.</summary>
        public long MaxDistance { get; }

        /// <summary>The table, <c>[buckets, heads]</c>.</summary>
        public Parameter weight => _weight;

        /// <summary>Offsets that get a bucket each (per side): half the buckets of a side, as T5 has it; below 1 the sizes are unusable.</summary>
        /// <param name="buckets">All buckets.</param>
        /// <param name="bidirectional">Two-sided.</param>
        public static long ExactOffsets(long buckets, bool bidirectional) => (bidirectional ? buckets / 2 : buckets) / 2;

        /// <summary>
        /// The bucket of each offset <c>key − query</c> (T5's bucketing, Raffel et al. 2020 §2.1): with <c>n</c> buckets per side and
        /// <c>e = n/2</c> exact ones, a distance <c>r &lt; e</c> is bucket <c>r</c>, a larger one <c>e + ⌊log(r/e) / log(max/e) · (n − e)⌋</c>
        /// capped at <c>n − 1</c>; two-sided, keys after the query add <c>n</c>; one-sided, keys after the query are bucket 0.
        /// </summary>
        /// <param name="offsets">Key position minus query position, int64, any shape.</param>
        /// <param name="buckets">All buckets.</param>
        /// <param name="bidirectional">Two-sided.</param>
        /// <param name="maxDistance">Offsets from here on share the last bucket.</param>
        /// <returns>Bucket indices, int64, shaped like <paramref name="offsets"/>.</returns>
        public static Tensor Bucket(Tensor offsets, long buckets, bool bidirectional, long maxDistance)
        {
            ArgumentNullException.ThrowIfNull(offsets);
            using var noGrad = torch.no_grad();
            using var work = offsets.clone();
            return BucketInPlace(work, buckets, bidirectional, maxDistance);
        }

        /// <summary>
        /// <see cref="Bucket"/> computed in <paramref name="offsets"/>' own storage, each temporary freed as soon as it is read: at most
        /// the offsets, the distance's fp64 log ratio being made, the large buckets, a bool test and the result (int64 and fp64 are 8 bytes,
        /// bools 1) per query–key pair at once, the bound <c>EncoderDecoderTerms.BucketBytesPerPair</c> counts.
        /// </summary>
        private static Tensor BucketInPlace(Tensor offsets, long buckets, bool bidirectional, long maxDistance)
        {
            var perSide = bidirectional ? buckets / 2 : buckets;
            var exact = perSide / 2;
            using var after = bidirectional ? offsets.gt(0) : null; // keys after the query: the second half of two-sided buckets
            using var distance = bidirectional ? offsets.abs_() : offsets.neg_().clamp_min_(0);
            Tensor large;
            // log(r / e) is only read where r ≥ e, so r is clamped to 1 first to keep log(0) out of the arithmetic.
            using (var clamped = distance.clamp_min(1))
            using (var ratio = clamped.to(ScalarType.Float64))
            {
                clamped.Dispose();
                ratio.div_(exact).log_().div_(Math.Log((double)maxDistance / exact)).mul_(perSide - exact);
                large = ratio.to(ScalarType.Int64);
            }
            large.add_(exact).clamp_max_(perSide - 1);
            Tensor bucket;
            using (large)
            using (var small = distance.lt(exact))
                bucket = torch.where(small, distance, large);
            if (after is not null)
                bucket.add_(after, alpha: perSide);
            return bucket;
        }

        /// <summary>The bucket indices of <paramref name="queries"/> queries at positions <c>keys − queries … keys − 1</c> against <paramref name="keys"/> keys, <c>[queries, keys]</c>.</summary>
        /// <param name="queries">Query positions (the last ones when fewer than the keys).</param>
        /// <param name="keys">Key positions, from 0.</param>
        public Tensor Indices(long queries, long keys)
        {
            using var noGrad = torch.no_grad();
            var device = _weight.device;
            using var queryPositions = torch.arange(keys - queries, keys, dtype: ScalarType.Int64, device: device).unsqueeze(1);
            using var keyPositions = torch.arange(0, keys, dtype: ScalarType.Int64, device: device).unsqueeze(0);
            using var offsets = keyPositions - queryPositions;
            return BucketInPlace(offsets, Buckets, Bidirectional, MaxDistance);
        }

        /// <summary>The bias to add to the scores: <c>[1, heads, queries, keys]</c> in the table's dtype, a view of one <c>[queries·keys, heads]</c> lookup.</summary>
        /// <param name="queries">Queries (the last positions when fewer than the keys).</param>
        /// <param name="keys">Keys.</param>
        /// <exception cref="ArgumentException">A count is not positive or there are more queries than keys.</exception>
        public Tensor Bias(long queries, long keys)
        {
            if (queries < 1 || keys < 1 || queries > keys)
                throw new ArgumentException($"RelativePositionBias needs 1 ≤ queries ≤ keys, but queries = {queries}, keys = {keys}.", nameof(queries));
            using var indices = Indices(queries, keys);
            using var flat = indices.view(-1);
            return _weight.index_select(0, flat).view(queries, keys, Heads).permute(2, 0, 1).unsqueeze(0);
        }
    }
}
