using System;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>What one element of a tensor of a <c>Forward</c> body costs.</summary>
    public enum ForwardElement
    {
        /// <summary>The layer's compute dtype (bytes of its precision).</summary>
        Compute,

        /// <summary>A boolean mask, 1 byte.</summary>
        Bool,

        /// <summary>int64 indices, 8 bytes.</summary>
        Int64,

        /// <summary>fp32 whatever the layer's precision (statistics, explicit casts), 4 bytes.</summary>
        Float32,

        /// <summary>What dropout keeps for backward: a 1-byte mask on CUDA, its scaled noise at the compute dtype on the CPU.</summary>
        DropoutMask,
    }

    /// <summary>
    /// One tensor of a <c>Forward</c> body, sized symbolically: the product of <see cref="Factors"/> divided by the product of
    /// <see cref="Divisors"/> (config sizes or literals, so a generated <c>DescribeModel(config)</c> rebuilds it with the sizes the
    /// program runs with), times batch^<see cref="BatchPower"/> × seq^<see cref="SequencePower"/>. Equality contract: value
    /// equality over every member.
    /// </summary>
    /// <param name="Name">What it is, e.g. <c>functional.gelu input [batch, seq, Ffn (14336)]</c>.</param>
    /// <param name="Factors">Sizes whose product is the constant part of its element count.</param>
    /// <param name="Divisors">Sizes the product is divided by (a head dimension is Hidden / Heads).</param>
    /// <param name="BatchPower">Power of the batch size in its element count.</param>
    /// <param name="SequencePower">Power of the sequence length (the pass's positions) in its element count.</param>
    /// <param name="Element">Bytes per element.</param>
    /// <param name="Sharded">It descends from a tensor-parallel (column-sharded) block output: each rank holds 1/t of it.</param>
    public sealed record ForwardTensor(string Name, EquatableArray<Dim> Factors, EquatableArray<Dim> Divisors, int BatchPower, int SequencePower, ForwardElement Element, bool Sharded)
    {
        /// <summary>Its bytes on one rank for <paramref name="batch"/> sequences of <paramref name="positions"/> positions.</summary>
        /// <param name="batch">Sequences per rank.</param>
        /// <param name="positions">Positions computed in the pass.</param>
        /// <param name="d">Bytes per element of the compute dtype.</param>
        /// <param name="ranks">Tensor-parallel ranks.</param>
        /// <param name="booleanMask">The device keeps dropout masks as 1-byte booleans (CUDA).</param>
        public long Bytes(long batch, long positions, int d, int ranks, bool booleanMask)
        {
            long elements = 1;
            foreach (var factor in Factors)
                elements = checked(elements * factor.Value);
            foreach (var divisor in Divisors)
                elements = divisor.Value > 0 ? elements / divisor.Value : elements;
            for (var i = 0; i < BatchPower; i++)
                elements = checked(elements * batch);
            for (var i = 0; i < SequencePower; i++)
                elements = checked(elements * positions);
            if (Sharded)
                elements = ranks <= 1 ? elements : (elements + ranks - 1) / ranks;
            var size = Element switch
            {
                ForwardElement.Bool => 1,
                ForwardElement.Int64 => 8,
                ForwardElement.Float32 => 4,
                ForwardElement.DropoutMask => booleanMask ? 1 : d,
                _ => d,
            };
            return checked(elements * size);
        }
    }

    /// <summary>
    /// One op of a <c>Forward</c> body that is not a block call: what autograd saves for its backward (docs/forward-analysis.md
    /// has the table, from PyTorch's derivative definitions) and the new tensors it creates that nothing saves.
    /// Equality contract: value equality over every member.
    /// </summary>
    /// <param name="Call">The call as written, e.g. <c>nn.functional.gelu</c> or <c>operator *</c>.</param>
    /// <param name="Saved">Tensors kept from the forward until the op's backward (none in inference).</param>
    /// <param name="Temporaries">Tensors it creates that autograd does not keep (its output when nothing saves it).</param>
    /// <param name="Estimated">True when the analysis does not know the op: a conservative estimate (every tensor operand and the output saved).</param>
    /// <param name="Repeats">Sizes whose product is how many times it runs per call of the layer (inside a loop over a stack: the stack's count); empty: once.</param>
    public sealed record ForwardOp(string Call, EquatableArray<ForwardTensor> Saved, EquatableArray<ForwardTensor> Temporaries, bool Estimated, EquatableArray<Dim> Repeats)
    {
        /// <summary>How many times it runs per call of the layer.</summary>
        public long Times
        {
            get
            {
                long times = 1;
                foreach (var repeat in Repeats)
                    times = checked(times * System.Math.Max(0, repeat.Value));
                return times;
            }
        }
    }

    /// <summary>
    /// One entry of a <c>Forward</c> body, in the order it runs: a call of the block <see cref="Block"/> (a primitive block, a
    /// sublayer or a whole stack), or an <see cref="Op"/>. Equality contract: value equality over every member.
    /// </summary>
    /// <param name="Block">The block's property name, for a block call.</param>
    /// <param name="Op">The op, for anything else.</param>
    public sealed record ForwardCall(string? Block, ForwardOp? Op)
    {
        /// <summary>
        /// Sizes whose product is how many times a block call runs per call of the layer (inside a counted loop); empty: once.
        /// A primitive block counts its activations that many times; a sublayer or stack is walked once whatever it says.
        /// </summary>
        public EquatableArray<Dim> Repeats { get; init; }

        /// <summary>How many times the call runs per call of the layer.</summary>
        public long Times
        {
            get
            {
                long times = 1;
                foreach (var repeat in Repeats)
                    times = checked(times * System.Math.Max(0, repeat.Value));
                return times;
            }
        }
    }

    /// <summary>
    /// The analysis of one layer's <c>Forward</c> body (src/Analyzers/ForwardAnalysis): block calls and ops in the order they run.
    /// When a layer has one, the memory model walks it instead of assuming the blocks run once each in declaration order.
    /// Equality contract: value equality over every member.
    /// </summary>
    /// <param name="Calls">The body's calls in order. A block called again appears again (its activations count again, its weights once).</param>
    public sealed record ForwardBody(EquatableArray<ForwardCall> Calls);
}
