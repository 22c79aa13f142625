using System;
using System.Globalization;
using ModelGen.Specs;

namespace ModelGen.Parsing.ForwardAnalysis
{
    /// <summary>
    /// One dimension of a tensor in a <c>Forward</c> body: <see cref="Value"/> × batch^<see cref="Batch"/> × seq^<see cref="Sequence"/>,
    /// where <see cref="Value"/> is the product of config sizes at their compile-time values (and literals). Two dimensions are the
    /// same when all three agree, so Hidden (4096) and Ffn (14336) differ, while two config members of equal value cannot be told
    /// apart (no false error). An unknown dimension matches anything.
    /// A class, not a struct, and its sizes in arrays: the lists and LINQ the walker runs over dimensions then use the runtime's
    /// shared, precompiled code for reference types instead of code compiled just in time in every compiler process
    /// (docs/benchmarks-analyzers.md). Immutable; nothing compares two of them by equality, only by <see cref="SameAs"/>.
    /// </summary>
    internal sealed class SymbolicDim
    {
        private static readonly Dim[] None = new Dim[0];

        private SymbolicDim(long value, int batch, int sequence, string text, Dim[]? factors = null, Dim[]? divisors = null)
        {
            Value = value;
            Batch = batch;
            Sequence = sequence;
            Text = text;
            Factors = factors ?? None;
            Divisors = divisors ?? None;
        }

        /// <summary>The config sizes and literals whose product (over <see cref="Divisors"/>) is <see cref="Value"/>.</summary>
        public Dim[] Factors { get; }

        /// <summary>The sizes <see cref="Factors"/> are divided by.</summary>
        public Dim[] Divisors { get; }

        /// <summary>The constant factor; <see cref="long.MinValue"/> when unknown. As an integer argument (a dimension index, a reshape's -1) any value.</summary>
        public long Value { get; }

        /// <summary>Power of the batch size.</summary>
        public int Batch { get; }

        /// <summary>Power of the sequence length.</summary>
        public int Sequence { get; }

        /// <summary>How the message writes it: <c>Hidden (64)</c>, <c>batch</c>, <c>seq·seq</c>, <c>?</c>.</summary>
        public string Text { get; }

        /// <summary>A dimension of a known size.</summary>
        public bool Known => Value > 0;

        /// <summary>An unknown dimension.</summary>
        public static SymbolicDim Unknown => new(long.MinValue, 0, 0, "?");

        /// <summary>The batch dimension.</summary>
        public static SymbolicDim BatchSize => new(1, 1, 0, "batch");

        /// <summary>The sequence dimension.</summary>
        public static SymbolicDim SequenceLength => new(1, 0, 1, "seq");

        /// <summary>A literal integer: a size, a dimension index, or a reshape's -1.</summary>
        public static SymbolicDim Literal(long value) =>
            new(value, 0, 0, value.ToString(CultureInfo.InvariantCulture), value > 1 ? new[] { Dim.Literal(value) } : None);

        /// <summary>True for an integer the walker knows (a literal or a size), which may be zero or negative.</summary>
        public bool IsInteger => Value != long.MinValue && Batch == 0 && Sequence == 0;

        /// <summary>A block's size: the config member and its value.</summary>
        public static SymbolicDim Of(Dim dim) => dim.Value > 0 ? new(dim.Value, 0, 0, dim.ToString(), new[] { dim }) : Unknown;

        /// <summary>True when this is exactly 1 (broadcasts against anything).</summary>
        public bool IsOne => Value == 1 && Batch == 0 && Sequence == 0;

        /// <summary>Same size: known and equal in all three parts.</summary>
        public bool SameAs(SymbolicDim other) => Known && other.Known && Value == other.Value && Batch == other.Batch && Sequence == other.Sequence;

        /// <summary>Provably different: both known and not the same.</summary>
        public bool Differs(SymbolicDim other) => Known && other.Known && !SameAs(other);

        /// <summary>The product of two dimensions (unknown when either is).</summary>
        public SymbolicDim Times(SymbolicDim other)
        {
            if (!Known || !other.Known)
                return Unknown;
            if (IsOne)
                return other;
            if (other.IsOne)
                return this;
            var value = Value > long.MaxValue / other.Value ? 0 : Value * other.Value;
            return value <= 0 ? Unknown : Reduced(value, Batch + other.Batch, Sequence + other.Sequence, Text + "·" + other.Text,
                Factors, other.Factors, Divisors, other.Divisors);
        }

        /// <summary>The quotient, when it divides exactly (else unknown).</summary>
        public SymbolicDim Over(SymbolicDim other)
        {
            if (!Known || !other.Known || Value % other.Value != 0 || Batch < other.Batch || Sequence < other.Sequence)
                return Unknown;
            if (other.IsOne)
                return this;
            if (SameAs(other))
                return Literal(1);
            return Reduced(Value / other.Value, Batch - other.Batch, Sequence - other.Sequence, Text + "/" + other.Text,
                Factors, other.Divisors, Divisors, other.Factors);
        }

        /// <summary>Cancels sizes that appear above and below the line, so Heads·(Hidden/Heads) is just Hidden: the factors are
        /// <paramref name="factors"/> then <paramref name="moreFactors"/>, the divisors <paramref name="divisors"/> then
        /// <paramref name="moreDivisors"/>; each divisor cancels the first equal factor left, in that order.</summary>
        private static SymbolicDim Reduced(long value, int batch, int sequence, string text, Dim[] factors, Dim[] moreFactors, Dim[] divisors, Dim[] moreDivisors)
        {
            var up = new Dim[factors.Length + moreFactors.Length];
            Array.Copy(factors, up, factors.Length);
            Array.Copy(moreFactors, 0, up, factors.Length, moreFactors.Length);
            var upCount = up.Length;
            var down = new Dim[divisors.Length + moreDivisors.Length];
            var downCount = 0;
            for (var d = 0; d < down.Length; d++)
            {
                var divisor = d < divisors.Length ? divisors[d] : moreDivisors[d - divisors.Length];
                var index = -1;
                for (var u = 0; u < upCount && index < 0; u++)
                {
                    if (up[u].Equals(divisor))
                        index = u;
                }
                if (index >= 0)
                {
                    Array.Copy(up, index + 1, up, index, upCount - index - 1);
                    upCount--;
                }
                else
                {
                    down[downCount++] = divisor;
                }
            }
            return new SymbolicDim(value, batch, sequence, text, Trimmed(up, upCount), Trimmed(down, downCount));
        }

        private static Dim[] Trimmed(Dim[] dims, int count)
        {
            if (count == dims.Length)
                return dims;
            var trimmed = new Dim[count];
            Array.Copy(dims, trimmed, count);
            return trimmed;
        }

        /// <inheritdoc />
        public override string ToString() => Text;
    }
}
