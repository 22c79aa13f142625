using static TorchSharp.torch;

namespace ModelGen.Inference
{
    /// <summary>
    /// What <see cref="TextGenerator"/> needs from a decoder: the cache it uses, and its forward over new tokens with that cache.
    /// A generated model implements it in two one-line members (see docs/inference.md): the options from its config, and a
    /// forward that passes <c>cache.Layer(i)</c>, the positions and the padding mask to each block's
    /// <see cref="ModelGen.Nn.Attention"/> cached forward.
    /// </summary>
    public interface ICachedLanguageModel
    {
        /// <summary>The cache for <paramref name="batch"/> sequences of at most <paramref name="maxLength"/> tokens (padding included).</summary>
        KvCacheOptions CacheOptions(long batch, long maxLength);

        /// <summary>Logits <c>[batch, s, vocab]</c> of the new tokens, after appending them to <paramref name="cache"/>.</summary>
        /// <param name="tokens">New token ids, <c>[batch, s]</c> int64.</param>
        /// <param name="cache">The cache, holding every earlier token.</param>
        /// <param name="positions">Position of each new token, <c>[batch, s]</c> (padding excluded from the count).</param>
        /// <param name="padding">1 for a real token, 0 for padding, <c>[batch, s]</c>.</param>
        Tensor Forward(Tensor tokens, KvCache cache, Tensor positions, Tensor padding);
    }
}
