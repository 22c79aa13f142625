namespace Gpt2Sample;

/// <summary>
/// Sizes of a GPT-2 decoder. The defaults are GPT-2 small's (Radford et al. 2019, table 2; the released "gpt2" checkpoint):
/// they are what the analyzers check at compile time. <see cref="Tiny"/> is what the sample trains on CPU.
/// </summary>
public sealed record Gpt2Config
{
    /// <summary>Tokens in the byte-level BPE vocabulary (50,000 merges + 256 bytes + end-of-text).</summary>
    public int Vocab { get; init; } = 50257;

    /// <summary>Longest sequence: rows of the learned position embedding.</summary>
    public int Context { get; init; } = 1024;

    /// <summary>Model width.</summary>
    public int Hidden { get; init; } = 768;

    /// <summary>Decoder blocks.</summary>
    public int Layers { get; init; } = 12;

    /// <summary>Attention heads per block.</summary>
    public int Heads { get; init; } = 12;

    /// <summary>Inner width of the MLP (four times <see cref="Hidden"/> in every GPT-2 size).</summary>
    public int Ffn { get; init; } = 3072;

    /// <summary>A size that trains in seconds on two CPU cores.</summary>
    public static Gpt2Config Tiny => new() { Vocab = 64, Context = 32, Hidden = 64, Layers = 2, Heads = 4, Ffn = 256 };
}
