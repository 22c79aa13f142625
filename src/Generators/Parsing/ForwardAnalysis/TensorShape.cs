using System.Collections.Generic;
using System.Linq;

namespace ModelGen.Parsing.ForwardAnalysis
{
    /// <summary>The symbolic shape of a tensor; <see cref="Dims"/> null when even its rank is unknown.</summary>
    internal sealed class TensorShape
    {
        public TensorShape(IReadOnlyList<SymbolicDim>? dims) => Dims = dims;

        /// <summary>Its dimensions, outermost first; null when unknown.</summary>
        public IReadOnlyList<SymbolicDim>? Dims { get; }

        /// <summary>A shape nothing is known about.</summary>
        public static TensorShape Unknown { get; } = new(null);

        /// <summary>The rank, or -1.</summary>
        public int Rank => Dims?.Count ?? -1;

        /// <summary>The last dimension, or unknown.</summary>
        public SymbolicDim Last => Dims is { Count: > 0 } d ? d[d.Count - 1] : SymbolicDim.Unknown;

        /// <summary>The element count as one symbolic product (unknown when a dimension is).</summary>
        public SymbolicDim Elements
        {
            get
            {
                if (Dims is null)
                    return SymbolicDim.Unknown;
                var total = SymbolicDim.Literal(1);
                foreach (var dim in Dims)
                    total = total.Times(dim);
                return total;
            }
        }

        /// <summary>Resolves a possibly negative dimension index; -1 when out of range or the rank is unknown.</summary>
        public int Axis(long index)
        {
            if (Dims is null)
                return -1;
            var axis = index < 0 ? Dims.Count + index : index;
            return axis >= 0 && axis < Dims.Count ? (int)axis : -1;
        }

        /// <summary>The same shape with the last dimension replaced.</summary>
        public TensorShape WithLast(SymbolicDim last) =>
            Dims is { Count: > 0 } d ? new TensorShape(d.Take(d.Count - 1).Concat(new[] { last }).ToList()) : Unknown;

        /// <summary>
        /// NumPy broadcasting (PyTorch follows it): dimensions aligned from the right must be equal or 1. Returns null and the
        /// offending pair when two known dimensions differ; an unknown dimension matches anything.
        /// </summary>
        public static TensorShape? Broadcast(TensorShape a, TensorShape b)
        {
            // An operand whose shape was lost: the result is at least the other's shape (the memory counted is not less).
            if (a.Dims is null || b.Dims is null)
                return a.Dims is null ? b : a;
            var rank = System.Math.Max(a.Dims.Count, b.Dims.Count);
            var result = new SymbolicDim[rank];
            for (var i = 1; i <= rank; i++)
            {
                var x = i <= a.Dims.Count ? a.Dims[a.Dims.Count - i] : SymbolicDim.Literal(1);
                var y = i <= b.Dims.Count ? b.Dims[b.Dims.Count - i] : SymbolicDim.Literal(1);
                if (x.IsOne)
                    result[rank - i] = y;
                else if (y.IsOne)
                    result[rank - i] = x;
                else if (x.Differs(y))
                    return null;
                else
                    result[rank - i] = x.Known ? x : y;
            }
            return new TensorShape(result);
        }

        /// <inheritdoc />
        public override string ToString() => Dims is null ? "[?]" : "[" + string.Join(", ", Dims.Select(d => d.Text)) + "]";
    }
}
