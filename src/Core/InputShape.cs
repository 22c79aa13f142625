namespace ModelGen
{
    /// <summary>The shape of a forward input declared with <c>[Input]</c>, in terms of the scenario's batch and sequence length.</summary>
    public enum InputShape
    {
        /// <summary><c>[batch, seq]</c>: token ids, token types, position ids, a padding mask (int64 unless <c>ElementBytes</c> says otherwise).</summary>
        Tokens = 0,
        /// <summary><c>[batch, seq, Width]</c>: hidden states, floating-point at the layer's precision (the generated forward casts them).</summary>
        Hidden = 1,
        /// <summary><c>[batch, seq, seq]</c>: a mask over query-key pairs (bool, 1 byte, unless <c>ElementBytes</c> says otherwise).</summary>
        Pairs = 2,
    }
}
