namespace LlamaSample;

/// <summary>
/// Sizes of a Llama-style decoder. The defaults are Llama-3-8B's: they are what the analyzers check at compile time.
/// <see cref="Tiny"/> is what the sample trains on CPU.
/// </summary>
public sealed record LlamaConfig
{
    public int Vocab { get; init; } = 128256;
    public int Hidden { get; init; } = 4096;
    public int Layers { get; init; } = 32;
    public int Heads { get; init; } = 32;
    public int KvHeads { get; init; } = 8;
    public int Ffn { get; init; } = 14336;

    /// <summary>A size that trains in seconds on a laptop CPU.</summary>
    public static LlamaConfig Tiny => new() { Vocab = 64, Hidden = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 128 };
}
