using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Parsing.ForwardAnalysis
{
    /// <summary>
    /// One dimension of a tensor in a <c>Forward</c> body: <see cref="Value"/> × batch^<see cref="Batch"/> × seq^<see cref="Sequence"/>,
    /// where <see cref="Value"/> is the product of config sizes at their compile-time values (and literals). Two dimensions are the
    /// same when all three agree, so Hidden (4096) and Ffn (14336) differ, while two config members of equal value cannot be told
    /// apart (no false error). An unknown dimension matches anything.
    /// </summary>
    internal readonly struct SymbolicDim
    {
        private static readonly Dim[] None = new Dim[0];

        private SymbolicDim(long value, int batch, int sequence, string text, IReadOnlyList<Dim>? factors = null, IReadOnlyList<Dim>? divisors = null)
        {
            Value = value;
            Batch = batch;
            Sequence = sequence;
            Text = text;
            Factors = factors ?? None;
            Divisors = divisors ?? None;
        }

        /// <summary>The config sizes and literals whose product (over <see cref="Divisors"/>) is <see cref="Value"/>.</summary>
        public IReadOnlyList<Dim> Factors { get; }

        /// <summary>The sizes <see cref="Factors"/> are divided by.</summary>
        public IReadOnlyList<Dim> Divisors { get; }

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
                Factors.Concat(other.Factors), Divisors.Concat(other.Divisors));
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
                Factors.Concat(other.Divisors), Divisors.Concat(other.Factors));
        }

        /// <summary>Cancels sizes that appear above and below the line, so Heads·(Hidden/Heads) is just Hidden.</summary>
        private static SymbolicDim Reduced(long value, int batch, int sequence, string text, IEnumerable<Dim> factors, IEnumerable<Dim> divisors)
        {
            var up = factors.ToList();
            var down = new List<Dim>();
            foreach (var divisor in divisors)
            {
                var index = up.IndexOf(divisor);
                if (index >= 0)
                    up.RemoveAt(index);
                else
                    down.Add(divisor);
            }
            return new SymbolicDim(value, batch, sequence, text, up, down);
        }

        /// <inheritdoc />
        public override string ToString() => Text;
    }
}
