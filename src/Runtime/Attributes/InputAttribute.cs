using System;

namespace ModelGen
{
    /// <summary>
    /// Declares the size of a tensor parameter of <c>Forward</c> for the memory model, which cannot guess it from a name: an
    /// activation checkpoint keeps every input of its layer until backward, so each is counted as declared here.
    /// An input without it is not counted and MG0134 says so; the first input may go without it (it is sized from the layer's
    /// first block: token ids before an embedding, else <c>[batch, seq, width]</c>). See docs/attributes.md, "Forward".
    /// </summary>
    /// <example><code>
    /// Output Forward(Tensor ids, [Input(InputShape.Tokens, ElementBytes = 1)] Tensor? mask = null,
    ///                [Input(InputShape.Tokens)] Tensor? tokenTypes = null)
    /// </code></example>
    [AttributeUsage(AttributeTargets.Parameter, Inherited = false)]
    public sealed class InputAttribute : Attribute
    {
        /// <summary>Creates the attribute.</summary>
        /// <param name="shape">The input's shape in terms of the scenario's batch and sequence length.</param>
        public InputAttribute(InputShape shape) => Shape = shape;

        /// <summary>The input's shape.</summary>
        public InputShape Shape { get; }

        /// <summary>For <see cref="InputShape.Hidden"/>: the last dimension, a config member name (<c>nameof(Config.Hidden)</c>) or an integer literal.</summary>
        public string? Width { get; set; }

        /// <summary>Bytes per element; 0 (the default) means int64 (8) for tokens, the layer's precision for hidden states, bool (1) for pairs.</summary>
        public int ElementBytes { get; set; }
    }
}
