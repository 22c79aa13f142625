using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using ModelGen.Memory;

namespace ModelGen.Parsing.ForwardAnalysis
{
    /// <summary>Shape rules of matmul, masks, reshapes, layout changes, cat and chunk, with their shape errors.</summary>
    internal sealed partial class BodyWalker
    {
        private TensorValue MatMul(string call, IOperation operation, List<TensorValue> tensors)
        {
            var record = Record(call, operation);
            var a = tensors.Count > 0 ? tensors[0] : Lost();
            var b = tensors.Count > 1 ? tensors[1] : Lost();
            // mm / bmm / matmul: self's gradient needs mat2 and mat2's needs self (derivatives.yaml, mm and bmm).
            record.Saved.Add((a, call + " left operand"));
            record.Saved.Add((b, call + " right operand"));
            var shape = TensorShape.Unknown;
            if (a.Shape.Dims is { Count: > 0 } x && b.Shape.Dims is { Count: > 0 } y)
            {
                var inner = x[x.Count - 1];
                var other = y.Count == 1 ? y[0] : y[y.Count - 2];
                if (inner.Differs(other))
                {
                    Findings.Add(new ShapeFinding("MG0503", operation.Syntax.GetLocation(), new[] { call, a.Shape.ToString(), b.Shape.ToString(), inner.Text, other.Text }));
                }
                else
                {
                    // Batch dimensions broadcast; 1-D operands lose their matrix dimension (torch.matmul's rules).
                    var left = new TensorShape(x.Take(System.Math.Max(0, x.Count - 2)).ToList());
                    var right = new TensorShape(y.Take(System.Math.Max(0, y.Count - 2)).ToList());
                    var batch = TensorShape.Broadcast(left, right);
                    if (batch is null)
                    {
                        var (p, q) = Mismatch(left, right);
                        Findings.Add(new ShapeFinding("MG0503", operation.Syntax.GetLocation(), new[] { call, a.Shape.ToString(), b.Shape.ToString(), p, q }));
                    }
                    else if (batch.Dims is { } dims)
                    {
                        var result = dims.ToList();
                        if (x.Count > 1)
                            result.Add(x[x.Count - 2]);
                        if (y.Count > 1)
                            result.Add(y[y.Count - 1]);
                        shape = new TensorShape(result);
                    }
                }
            }
            var output = new TensorValue(shape, a.Element, a.Sharded || b.Sharded, call + " output");
            record.Created.Add(output);
            return output;
        }

        /// <summary>masked_fill(mask, value) saves the mask; where(condition, x, y) saves the condition (derivatives.yaml).</summary>
        private TensorValue Masked(OpRule rule, string call, IOperation operation, List<TensorValue> tensors)
        {
            var record = Record(call, operation);
            TensorValue target, mask;
            if (rule == OpRule.MaskedFill)
            {
                target = tensors[0];
                mask = tensors.Count > 1 ? tensors[1] : Lost();
            }
            else
            {
                mask = tensors[0];
                target = tensors.Count > 1 ? tensors[1] : Lost();
            }
            var shape = TensorShape.Broadcast(target.Shape, mask.Shape);
            if (rule == OpRule.Where && tensors.Count > 2 && shape is not null)
                shape = TensorShape.Broadcast(shape, tensors[2].Shape);
            if (shape is null)
            {
                Findings.Add(new ShapeFinding("MG0508", operation.Syntax.GetLocation(), new[] { call, mask.Shape.ToString(), target.Shape.ToString() }));
                shape = target.Shape;
            }
            record.Saved.Add((new TensorValue(mask.Shape, ForwardElement.Bool, mask.Sharded, mask.Origin), call + " mask (bool)"));
            var output = new TensorValue(shape, target.Element, target.Sharded, call + " output");
            record.Created.Add(output);
            return output;
        }

        private TensorValue Reshape(string call, IOperation operation, TensorValue x, List<SymbolicDim> dims)
        {
            if (dims.Count == 0 || dims.Any(d => !d.Known && !(d.IsInteger && d.Value == -1)))
                return Derived(x, TensorShape.Unknown, call + " view");
            var target = dims.ToList();
            var elements = x.Shape.Elements;
            var infer = target.FindIndex(d => d.Value == -1);
            var known = target.Where(d => d.Known).Aggregate(SymbolicDim.Literal(1), (p, d) => p.Times(d));
            if (infer >= 0)
            {
                if (target.Count(d => d.Value == -1) > 1)
                    return Derived(x, TensorShape.Unknown, call + " view");
                var inferred = elements.Over(known);
                if (elements.Known && known.Known && !inferred.Known)
                {
                    Findings.Add(new ShapeFinding("MG0504", operation.Syntax.GetLocation(), new[] { call, x.Shape.ToString(), Text(target), elements.Text, known.Text + "·k" }));
                    return Derived(x, TensorShape.Unknown, call + " view");
                }
                target[infer] = inferred;
            }
            else if (elements.Known && known.Known && !elements.SameAs(known))
            {
                Findings.Add(new ShapeFinding("MG0504", operation.Syntax.GetLocation(), new[] { call, x.Shape.ToString(), Text(target), elements.Text, known.Text }));
                return Derived(x, TensorShape.Unknown, call + " view");
            }
            return Derived(x, new TensorShape(target), call + " view");
        }

        private static string Text(IEnumerable<SymbolicDim> dims) => "[" + string.Join(", ", dims.Select(d => d.Text)) + "]";

        private TensorShape Layout(OpRule rule, string call, IOperation operation, TensorValue x, List<SymbolicDim> ints)
        {
            if (x.Shape.Dims is not { } dims)
                return TensorShape.Unknown;
            var list = dims.ToList();
            int Axis(SymbolicDim index, int rank)
            {
                if (!index.IsInteger)
                    return -2;
                var axis = index.Value < 0 ? rank + index.Value : index.Value;
                if (axis < 0 || axis >= rank)
                {
                    Findings.Add(new ShapeFinding("MG0507", operation.Syntax.GetLocation(), new[] { call, index.Text, x.Shape.ToString(), dims.Count.ToString(CultureInfo.InvariantCulture) }));
                    return -1;
                }
                return (int)axis;
            }
            switch (rule)
            {
                case OpRule.Transpose when ints.Count >= 2:
                {
                    var a = Axis(ints[0], list.Count);
                    var b = Axis(ints[1], list.Count);
                    if (a < 0 || b < 0)
                        return TensorShape.Unknown;
                    (list[a], list[b]) = (list[b], list[a]);
                    return new TensorShape(list);
                }
                case OpRule.TransposeLast when list.Count >= 2:
                    (list[list.Count - 2], list[list.Count - 1]) = (list[list.Count - 1], list[list.Count - 2]);
                    return new TensorShape(list);
                case OpRule.Permute when ints.Count == list.Count:
                {
                    var axes = ints.Select(i => Axis(i, list.Count)).ToList();
                    return axes.Any(a => a < 0) ? TensorShape.Unknown : new TensorShape(axes.Select(a => list[a]).ToList());
                }
                case OpRule.Unsqueeze when ints.Count == 1:
                {
                    var a = Axis(ints[0], list.Count + 1);
                    if (a < 0)
                        return TensorShape.Unknown;
                    list.Insert(a, SymbolicDim.Literal(1));
                    return new TensorShape(list);
                }
                case OpRule.Squeeze when ints.Count == 1:
                {
                    var a = Axis(ints[0], list.Count);
                    if (a < 0)
                        return TensorShape.Unknown;
                    if (list[a].IsOne)
                        list.RemoveAt(a);
                    return new TensorShape(list);
                }
                case OpRule.Flatten:
                {
                    var start = ints.Count > 0 ? Axis(ints[0], list.Count) : 0;
                    var end = ints.Count > 1 ? Axis(ints[1], list.Count) : list.Count - 1;
                    if (start < 0 || end < 0 || end < start)
                        return TensorShape.Unknown;
                    var merged = list.Skip(start).Take(end - start + 1).Aggregate(SymbolicDim.Literal(1), (p, d) => p.Times(d));
                    return new TensorShape(list.Take(start).Concat(new[] { merged }).Concat(list.Skip(end + 1)).ToList());
                }
                default:
                    return TensorShape.Unknown;
            }
        }

        private TensorValue Cat(string call, IOperation operation, List<List<object?>> arguments)
        {
            var record = Record(call, operation);
            var parts = arguments.Count > 0 ? arguments[0].OfType<TensorValue>().ToList() : new List<TensorValue>();
            var axisArgument = arguments.Count > 1 ? arguments[1].FirstOrDefault() as SymbolicDim : SymbolicDim.Literal(0);
            var shape = TensorShape.Unknown;
            if (parts.Count > 0 && axisArgument is { IsInteger: true } index && parts.All(p => p.Shape.Dims is not null))
            {
                var first = parts[0].Shape;
                var axis = first.Axis(index.Value);
                var rank = first.Rank;
                var bad = parts.FirstOrDefault(p => p.Shape.Rank != rank
                    || p.Shape.Dims!.Select((d, i) => i != axis && d.Differs(first.Dims![i])).Any(differs => differs));
                if (axis < 0)
                {
                    Findings.Add(new ShapeFinding("MG0507", operation.Syntax.GetLocation(), new[] { call, index.Text, first.ToString(), rank.ToString(CultureInfo.InvariantCulture) }));
                }
                else if (bad is not null)
                {
                    Findings.Add(new ShapeFinding("MG0506", operation.Syntax.GetLocation(), new[] { call, index.Text, first.ToString(), bad.Shape.ToString() }));
                }
                else
                {
                    var dims = first.Dims!.ToList();
                    var along = parts.Select(p => p.Shape.Dims![axis]).ToList();
                    var same = along.All(d => d.Known && d.Batch == along[0].Batch && d.Sequence == along[0].Sequence);
                    // Equal parts: n times the part (exact for any config); else the sum at the default sizes.
                    dims[axis] = !same ? SymbolicDim.Unknown
                        : along.All(d => d.SameAs(along[0])) ? along[0].Times(SymbolicDim.Literal(along.Count))
                        : SymbolicDim.Literal(along.Sum(d => d.Value));
                    if (same && along[0].Batch + along[0].Sequence > 0 && !along.All(d => d.SameAs(along[0])))
                        dims[axis] = SymbolicDim.Unknown; // a sum of unequal batch- or seq-sized parts is not a monomial
                    shape = new TensorShape(dims);
                }
            }
            // cat saves only the sizes of its inputs (derivatives.yaml, cat); its output is new memory.
            var output = new TensorValue(shape, parts.FirstOrDefault()?.Element ?? ForwardElement.Compute, parts.Any(p => p.Sharded), call + " output");
            record.Created.Add(output);
            return output;
        }

        private TensorParts Chunk(string call, IOperation operation, TensorValue x, List<SymbolicDim> ints)
        {
            var shape = TensorShape.Unknown;
            var axisIndex = ints.Count > 1 ? ints[1] : SymbolicDim.Literal(0);
            if (x.Shape.Dims is { } dims && ints.Count > 0 && ints[0].Known && axisIndex.IsInteger)
            {
                var axis = x.Shape.Axis(axisIndex.Value);
                if (axis < 0)
                {
                    Findings.Add(new ShapeFinding("MG0507", operation.Syntax.GetLocation(), new[] { call, axisIndex.Text, x.Shape.ToString(), dims.Count.ToString(CultureInfo.InvariantCulture) }));
                }
                else
                {
                    var list = dims.ToList();
                    // chunk(n): n parts of dim/n; split(size): parts of size.
                    list[axis] = call == "chunk" ? list[axis].Over(ints[0]) : ints[0];
                    shape = new TensorShape(list);
                }
            }
            return new TensorParts(Derived(x, shape, call + " part"));
        }

        /// <summary>Fused attention saves q, k, v, its output and the fp32 log-sum-exp per query row (derivatives.yaml, _scaled_dot_product_*_attention).</summary>
        private TensorValue Attention(string call, IOperation operation, List<TensorValue> tensors)
        {
            var record = Record(call, operation);
            var q = tensors.Count > 0 ? tensors[0] : Lost();
            var k = tensors.Count > 1 ? tensors[1] : Lost();
            var v = tensors.Count > 2 ? tensors[2] : Lost();
            if (q.Shape.Last.Differs(k.Shape.Last))
                Findings.Add(new ShapeFinding("MG0503", operation.Syntax.GetLocation(), new[] { call, q.Shape.ToString(), k.Shape.ToString(), q.Shape.Last.Text, k.Shape.Last.Text }));
            var output = Derived(q, v.Shape.Dims is { Count: > 0 } ? q.Shape.WithLast(v.Shape.Last) : q.Shape, call + " output");
            record.Saved.Add((q, call + " query"));
            record.Saved.Add((k, call + " key"));
            record.Saved.Add((v, call + " value"));
            record.Saved.Add((output, call + " output"));
            var rows = q.Shape.Dims is { Count: > 0 } d ? new TensorShape(d.Take(d.Count - 1).ToList()) : TensorShape.Unknown;
            record.Saved.Add((new TensorValue(rows, ForwardElement.Float32, q.Sharded, call + " log-sum-exp"), call + " log-sum-exp (fp32)"));
            record.Created.Add(output);
            return output;
        }
    }
}
