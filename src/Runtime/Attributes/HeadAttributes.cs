using System;

namespace ModelGen
{
    /// <summary>
    /// BERT's pooler: <c>tanh(dense(x[:, 0]))</c>, the first token's hidden state through a square Linear and tanh
    /// (<see cref="Nn.Pooler"/>, state keys <c>dense.weight</c>, <c>dense.bias</c>). Its output is one row per sequence.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property, Inherited = false)]
    public sealed class PoolerAttribute : Attribute
    {
        /// <summary>Size: a config member name or an int literal.</summary>
        public PoolerAttribute(object hidden) => Hidden = hidden;

        /// <summary>Hidden size (input and output features).</summary>
        public object Hidden { get; }
    }

    /// <summary>
    /// Says what a <c>[Linear]</c> output block is, so the memory model counts the right logits and loss: an LM head (every position,
    /// cross-entropy), a classifier (one position per sequence, cross-entropy) or a plain projection (no loss). A model without any
    /// <c>[Head]</c> or <c>[Pooler]</c> keeps the old rule: its last block, when it is a Linear, is an LM head.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property, Inherited = false)]
    public sealed class HeadAttribute : Attribute
    {
        /// <summary>Marks the block as a head of kind <paramref name="kind"/>.</summary>
        public HeadAttribute(HeadKind kind) => Kind = kind;

        /// <summary>The kind of head.</summary>
        public HeadKind Kind { get; }
    }
}
