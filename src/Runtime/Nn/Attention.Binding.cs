using ModelGen.Inference;
using static TorchSharp.torch;

namespace ModelGen.Nn
{
    public sealed partial class Attention
    {
        /// <summary>
        /// The cache layer, positions and padding that the plain <see cref="forward(Tensor)"/> uses while a generated model runs
        /// its cached forward (<see cref="CachedDecoding.Bind"/>); null otherwise. It lets the user's <c>Forward</c>, which calls
        /// <c>Attn.call(h)</c>, run unchanged over a KV cache.
        /// </summary>
        public CachedCall? Binding { get; internal set; }
    }

    /// <summary>What one attention module reads during a cached forward.</summary>
    /// <param name="Cache">Its layer of the cache.</param>
    /// <param name="Positions">Position of each new token, <c>[batch, s]</c>.</param>
    /// <param name="Padding">1 for a real token, 0 for padding, <c>[batch, s]</c>.</param>
    public sealed record CachedCall(KvCacheLayer Cache, Tensor Positions, Tensor Padding);
}
