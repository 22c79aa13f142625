using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;
using ModelGen.Memory;

namespace ModelGen.Parsing.ForwardAnalysis
{
    /// <summary>Expressions: what each evaluates to (a tensor, chunk parts, a size, or nothing the walker follows).</summary>
    internal sealed partial class BodyWalker
    {
        /// <summary>A tensor's <c>shape</c> array, so that <c>x.shape[0]</c> is that dimension.</summary>
        private sealed class ShapeArray
        {
            public ShapeArray(TensorShape shape) => Shape = shape;

            public TensorShape Shape { get; }
        }

        private object? Value(IOperation operation)
        {
            _cancellationToken.ThrowIfCancellationRequested();
            if (operation.ConstantValue is { HasValue: true, Value: var constant } && constant is int or long or short or byte)
                return SymbolicDim.Literal(System.Convert.ToInt64(constant, System.Globalization.CultureInfo.InvariantCulture));
            switch (operation)
            {
                case IConversionOperation conversion:
                    return Value(conversion.Operand);
                case IParenthesizedOperation parenthesized:
                    return Value(parenthesized.Operand);
                case IParameterReferenceOperation parameter:
                    return _values.TryGetValue(parameter.Parameter, out var p) ? p : null;
                case ILocalReferenceOperation local:
                    return _values.TryGetValue(local.Local, out var l) ? l : null;
                case ISimpleAssignmentOperation assignment:
                {
                    var value = Value(assignment.Value);
                    Assign(assignment.Target, value);
                    return value;
                }
                case ICompoundAssignmentOperation compound:
                {
                    var value = Binary(compound.OperatorKind, compound.Target, compound.Value, compound);
                    Assign(compound.Target, value);
                    return value;
                }
                case IBinaryOperation binary:
                    return Binary(binary.OperatorKind, binary.LeftOperand, binary.RightOperand, binary);
                case IInvocationOperation invocation:
                    return Invocation(invocation);
                case IPropertyReferenceOperation { Property.Name: "shape" } shape when IsTensor(shape.Instance?.Type):
                    return new ShapeArray(Tensor(shape.Instance!)!.Shape);
                case IArrayElementReferenceOperation element:
                {
                    var array = Value(element.ArrayReference);
                    var index = element.Indices.Length == 1 ? Value(element.Indices[0]) : null;
                    if (array is TensorParts parts)
                        return parts.Part;
                    if (array is ShapeArray dims && index is SymbolicDim i && dims.Shape.Axis(i.Value) is var axis && axis >= 0)
                        return dims.Shape.Dims![axis];
                    return null;
                }
                case IConditionalOperation conditional:
                {
                    Value(conditional.Condition);
                    var whenTrue = Value(conditional.WhenTrue);
                    var whenFalse = conditional.WhenFalse is null ? null : Value(conditional.WhenFalse);
                    return whenTrue ?? whenFalse;
                }
                case IPropertyReferenceOperation { Property.IsIndexer: true } indexer when IsTensor(indexer.Instance?.Type):
                    foreach (var argument in indexer.Arguments)
                        Value(argument.Value);
                    return Derived(Tensor(indexer.Instance!)!, TensorShape.Unknown, "indexed");
                case ICoalesceOperation coalesce:
                {
                    // `mask ?? ones_like(x)`: either operand, no op of its own.
                    var value = Value(coalesce.Value);
                    var whenNull = Value(coalesce.WhenNull);
                    return value as TensorValue ?? whenNull;
                }
                case IInvalidOperation invalid when InvalidBlockCall(invalid) is { } blockCall:
                    return BlockCall(blockCall.Block, blockCall.Arguments, invalid);
                case IFieldReferenceOperation or IPropertyReferenceOperation when IsTensor(operation.Type):
                    return Lost(); // a tensor the layer holds (a buffer, a cached mask): no new memory here
                default:
                    foreach (var child in operation.ChildOperations)
                        Value(child);
                    if (IsTensor(operation.Type))
                        return Unknown(operation, operation.Syntax.ToString(), new List<TensorValue>());
                    return null;
            }
        }

        /// <summary>
        /// <c>Sub.call(x)</c> on a sublayer before the generator gave it <c>call</c> (the parser runs on the user's code alone):
        /// the block and the argument expressions, or null for any other invalid operation.
        /// </summary>
        private (string Block, IReadOnlyList<IOperation> Arguments)? InvalidBlockCall(IInvalidOperation invalid)
        {
            if (invalid.Syntax is not Microsoft.CodeAnalysis.CSharp.Syntax.InvocationExpressionSyntax
                { Expression: Microsoft.CodeAnalysis.CSharp.Syntax.MemberAccessExpressionSyntax { Name.Identifier.ValueText: "call" or "forward" } member })
                return null;
            var children = invalid.ChildOperations.ToList();
            var receiver = children.FirstOrDefault(c => c.Syntax == member.Expression);
            if (BlockName(receiver) is not { } block)
                return null;
            return (block, children.Where(c => c != receiver).ToList());
        }

        /// <summary>A tensor operator, or integer arithmetic on sizes (<c>x.shape[0] * x.shape[1]</c>).</summary>
        private object? Binary(BinaryOperatorKind kind, IOperation left, IOperation right, IOperation operation)
        {
            var a = Value(left);
            var b = Value(right);
            if (!IsTensor(operation.Type))
            {
                if (a is SymbolicDim x && b is SymbolicDim y)
                    return kind switch { BinaryOperatorKind.Multiply => x.Times(y), BinaryOperatorKind.Divide => x.Over(y), _ => SymbolicDim.Unknown };
                return null;
            }
            var l = a as TensorValue ?? (IsTensor(left.Type) ? Lost() : null);
            var r = b as TensorValue ?? (IsTensor(right.Type) ? Lost() : null);
            var symbol = kind switch
            {
                BinaryOperatorKind.Add => "+", BinaryOperatorKind.Subtract => "-", BinaryOperatorKind.Multiply => "*",
                BinaryOperatorKind.Divide => "/", _ => kind.ToString(),
            };
            var rule = kind switch
            {
                BinaryOperatorKind.Add or BinaryOperatorKind.Subtract => OpRule.AddSub,
                BinaryOperatorKind.Multiply or BinaryOperatorKind.Divide => OpRule.MulDiv,
                _ => (OpRule?)null,
            };
            var operands = new[] { l, r }.Where(t => t is not null).Select(t => t!).ToList();
            if (rule is null)
            {
                // Comparisons and logical operators make a new (boolean) tensor and save nothing.
                var compare = kind is BinaryOperatorKind.Equals or BinaryOperatorKind.NotEquals or BinaryOperatorKind.LessThan or BinaryOperatorKind.LessThanOrEqual
                    or BinaryOperatorKind.GreaterThan or BinaryOperatorKind.GreaterThanOrEqual;
                var shape = operands.Count == 2 ? TensorShape.Broadcast(operands[0].Shape, operands[1].Shape) ?? TensorShape.Unknown : operands.FirstOrDefault()?.Shape ?? TensorShape.Unknown;
                var record = Record("operator " + symbol, operation);
                var output = new TensorValue(shape, compare ? ForwardElement.Bool : Promoted(operands, Activation), operands.Any(o => o.Sharded), "operator " + symbol + " output");
                record.Created.Add(output);
                return output;
            }
            return Elementwise(rule.Value, "operator " + symbol, operands, operation);
        }

        /// <summary>add/sub/mul/div of one or two tensors (the other operand a scalar).</summary>
        private TensorValue Elementwise(OpRule rule, string call, IReadOnlyList<TensorValue> operands, IOperation operation)
        {
            var record = Record(call, operation);
            var shape = operands.Count > 0 ? operands[0].Shape : TensorShape.Unknown;
            if (operands.Count == 2)
            {
                var broadcast = TensorShape.Broadcast(operands[0].Shape, operands[1].Shape);
                if (broadcast is null)
                {
                    var (x, y) = Mismatch(operands[0].Shape, operands[1].Shape);
                    Findings.Add(new ShapeFinding(rule == OpRule.AddSub ? "MG0501" : "MG0502", operation.Syntax.GetLocation(),
                        new[] { call, operands[0].Shape.ToString(), operands[1].Shape.ToString(), x, y }));
                    broadcast = TensorShape.Unknown;
                }
                shape = broadcast;
                if (rule == OpRule.MulDiv)
                {
                    // mul: self's gradient needs other and other's needs self; div likewise (derivatives.yaml, mul.Tensor / div.Tensor).
                    record.Saved.Add((operands[0], call + " left operand"));
                    record.Saved.Add((operands[1], call + " right operand"));
                }
            }
            var output = new TensorValue(shape, Promoted(operands, ForwardElement.Compute), operands.Any(o => o.Sharded), call + " output");
            record.Created.Add(output);
            return output;
        }

        /// <summary>The first pair of dimensions (from the right) that neither matches nor broadcasts.</summary>
        private static (string, string) Mismatch(TensorShape a, TensorShape b)
        {
            var da = a.Dims!;
            var db = b.Dims!;
            for (var i = 1; i <= System.Math.Min(da.Count, db.Count); i++)
            {
                var x = da[da.Count - i];
                var y = db[db.Count - i];
                if (!x.IsOne && !y.IsOne && x.Differs(y))
                    return (x.Text, y.Text);
            }
            return ("?", "?");
        }

        private OpRecord Record(string call, IOperation operation, bool estimated = false)
        {
            var record = new OpRecord(call, operation.Syntax.GetLocation(), estimated, _repeats);
            _calls.Add(record);
            return record;
        }

        private TensorValue Lost() => new(TensorShape.Unknown, Activation, false, "tensor");

        private static TensorValue Derived(TensorValue from, TensorShape shape, string origin) => new(shape, from.Element, from.Sharded, origin);

        /// <summary>
        /// An op the walker does not know: conservatively, autograd keeps every tensor operand and the result, and the result is as
        /// large as the largest operand (or the layer's widest activation). Listed for the info diagnostic (MG0539), never silent.
        /// </summary>
        private TensorValue Unknown(IOperation operation, string call, List<TensorValue> operands)
        {
            var record = Record(call, operation, estimated: true);
            Estimated.Add(record);
            foreach (var operand in operands.Distinct())
                record.Saved.Add((operand, call + " operand"));
            var largest = operands.Where(o => o.Shape.Elements.Known)
                .OrderByDescending(o => o.Shape.Elements.Sequence).ThenByDescending(o => o.Shape.Elements.Batch).ThenByDescending(o => o.Shape.Elements.Value)
                .FirstOrDefault();
            var output = new TensorValue(largest?.Shape ?? TensorShape.Unknown, Activation, operands.Any(o => o.Sharded), call + " result");
            record.Saved.Add((output, call + " result"));
            record.Created.Add(output);
            return output;
        }
    }
}
