using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;
using ModelGen.Memory;

namespace ModelGen.Parsing.ForwardAnalysis
{
    /// <summary>TorchSharp calls: shapes, saved tensors and shape errors per <see cref="OpRule"/>.</summary>
    internal sealed partial class BodyWalker
    {
        private object? Invocation(IInvocationOperation call)
        {
            var method = call.TargetMethod;
            if (method.Name is "call" or "forward" && BlockName(call.Instance) is { } block)
                return BlockCall(block, call.Arguments.OrderBy(a => a.Parameter?.Ordinal ?? 0).Select(a => a.Value).ToList(), call);
            var self = call.Instance is null ? null : Value(call.Instance);
            var arguments = call.Arguments.OrderBy(a => a.Parameter?.Ordinal ?? 0).Select(Items).ToList();
            var torch = IsTorchMethod(method);
            var tensors = new List<TensorValue>();
            if (self is TensorValue instance)
                tensors.Add(instance);
            else if (call.Instance is not null && IsTensor(call.Instance.Type))
                tensors.Add(Lost());
            tensors.AddRange(arguments.SelectMany(a => a).OfType<TensorValue>());
            var name = method.ContainingType?.Name == "functional" ? "functional." + method.Name : method.Name;

            if (torch && method.Name == "size" && self is TensorValue sized)
                return arguments.Count == 1 && arguments[0].FirstOrDefault() is SymbolicDim axis && sized.Shape.Axis(axis.Value) is var a && a >= 0 ? sized.Shape.Dims![a] : SymbolicDim.Unknown;
            if (torch && OpTable.Find(method.Name) is { } rule && (tensors.Count > 0 || rule is OpRule.Cat or OpRule.Create))
                return Op(rule, name, call, tensors, arguments);
            if (IsTensor(method.ReturnType))
                return Unknown(call, name, tensors);
            if (method.ReturnType is IArrayTypeSymbol { ElementType: var element } && IsTensor(element) && tensors.Count > 0)
                return new TensorParts(Unknown(call, name, tensors));
            return null;
        }

        /// <summary>An argument's values: the elements of an array or collection (params, a list of tensors), else the one value.</summary>
        private List<object?> Items(IArgumentOperation argument)
        {
            var value = argument.Value;
            while (value is IConversionOperation conversion)
                value = conversion.Operand;
            return value switch
            {
                IArrayCreationOperation { Initializer: { } initializer } => initializer.ElementValues.Select(Value).ToList(),
                ICollectionExpressionOperation collection => collection.Elements.Select(Value).ToList(),
                _ => new List<object?> { Value(argument.Value) },
            };
        }

        private object? Op(OpRule rule, string call, IInvocationOperation operation, List<TensorValue> tensors, List<List<object?>> arguments)
        {
            var ints = arguments.SelectMany(a => a).OfType<SymbolicDim>().ToList();
            var x = tensors.FirstOrDefault();
            switch (rule)
            {
                case OpRule.AddSub:
                case OpRule.MulDiv:
                    return Elementwise(rule, call, tensors.Take(2).ToList(), operation);
                case OpRule.MatMul:
                    return MatMul(call, operation, tensors);
                case OpRule.SavesInput:
                case OpRule.SavesOutput:
                case OpRule.SameShape:
                {
                    if (call.EndsWith("softmax", System.StringComparison.Ordinal) && ints.Count > 0)
                        CheckAxis(call, operation, x!, ints[0]);
                    var record = Record(call, operation);
                    var output = Derived(x!, x!.Shape, call + " output");
                    if (rule == OpRule.SavesInput)
                        record.Saved.Add((x, call + " input"));
                    if (rule == OpRule.SavesOutput)
                        record.Saved.Add((output, call + " output"));
                    record.Created.Add(output);
                    return output;
                }
                case OpRule.Dropout:
                {
                    var record = Record(call, operation);
                    var p = operation.Arguments.FirstOrDefault(a => a.Parameter?.Name == "p")?.Value.ConstantValue;
                    var training = operation.Arguments.FirstOrDefault(a => a.Parameter?.Name == "training")?.Value.ConstantValue;
                    var off = (p is { HasValue: true, Value: double probability } && probability == 0) || (training is { HasValue: true, Value: false });
                    if (off)
                        return x;
                    record.Saved.Add((new TensorValue(x!.Shape, ForwardElement.DropoutMask, x.Sharded, call + " mask"), call + " mask"));
                    var output = Derived(x, x.Shape, call + " output");
                    record.Created.Add(output);
                    return output;
                }
                case OpRule.MaskedFill:
                case OpRule.Where:
                    return Masked(rule, call, operation, tensors);
                case OpRule.Cast:
                {
                    var record = Record(call, operation);
                    var fp32 = call == "float" || operation.Arguments.Any(a => a.Value.ConstantValue is { HasValue: true, Value: var v } && v?.ToString() is "6" or "Float32");
                    var output = new TensorValue(x!.Shape, fp32 ? ForwardElement.Float32 : ForwardElement.Compute, x.Sharded, call + " output");
                    record.Created.Add(output);
                    return output;
                }
                case OpRule.Reshape:
                    return Reshape(call, operation, x!, ints);
                case OpRule.Transpose:
                case OpRule.TransposeLast:
                case OpRule.Permute:
                case OpRule.Unsqueeze:
                case OpRule.Squeeze:
                case OpRule.Flatten:
                    return Derived(x!, Layout(rule, call, operation, x!, ints), call + " view");
                case OpRule.Cat:
                    return Cat(call, operation, arguments);
                case OpRule.Chunk:
                    return Chunk(call, operation, x!, ints);
                case OpRule.Reduce:
                {
                    var record = Record(call, operation);
                    var keep = operation.Arguments.Any(a => a.Parameter?.Name == "keepdim" && a.Value.ConstantValue is { HasValue: true, Value: true });
                    var dims = x!.Shape.Dims;
                    TensorShape shape;
                    if (dims is null)
                        shape = TensorShape.Unknown;
                    else if (ints.Count == 0)
                        shape = new TensorShape(new List<SymbolicDim>());
                    else
                    {
                        var axes = ints.Select(i => x.Shape.Axis(i.Value)).ToList();
                        if (axes.Any(a => a < 0))
                        {
                            CheckAxis(call, operation, x, ints[axes.FindIndex(a => a < 0)]);
                            shape = TensorShape.Unknown;
                        }
                        else
                        {
                            shape = new TensorShape(dims.Select((d, i) => axes.Contains(i) ? (keep ? SymbolicDim.Literal(1) : (SymbolicDim?)null) : d)
                                .Where(d => d is not null).Select(d => d!).ToList());
                        }
                    }
                    var output = Derived(x, shape, call + " output");
                    record.Created.Add(output);
                    return output;
                }
                case OpRule.LayerNorm:
                {
                    var record = Record(call, operation);
                    var rows = x!.Shape.Dims is { Count: > 0 } d ? new TensorShape(d.Take(d.Count - 1).Concat(new[] { SymbolicDim.Literal(2) }).ToList()) : TensorShape.Unknown;
                    record.Saved.Add((x, call + " input"));
                    record.Saved.Add((new TensorValue(rows, ForwardElement.Float32, false, call + " mean and rstd (fp32)"), call + " mean and rstd (fp32)"));
                    var output = Derived(x, x.Shape, call + " output");
                    record.Created.Add(output);
                    return output;
                }
                case OpRule.Attention:
                    return Attention(call, operation, tensors);
                case OpRule.Create:
                {
                    // A new tensor that needs no gradient: nothing saved. Its size is counted when its dimensions are known.
                    var record = Record(call, operation);
                    var known = ints.Count > 0 && ints.All(d => d.Known) && call is not "arange";
                    var shape = call == "arange" && ints.Count == 1 && ints[0].Known ? new TensorShape(new[] { ints[0] }) : known ? new TensorShape(ints) : TensorShape.Unknown;
                    var output = new TensorValue(shape, Activation, false, call + " output");
                    if (shape.Elements.Known)
                        record.Created.Add(output);
                    return output;
                }
                default: // Select: a view of unknown shape
                    return Derived(x!, TensorShape.Unknown, call + " view");
            }
        }

        private void CheckAxis(string call, IOperation operation, TensorValue x, SymbolicDim axis)
        {
            if (x.Shape.Dims is { } dims && axis.IsInteger && x.Shape.Axis(axis.Value) < 0)
                Findings.Add(new ShapeFinding("MG0507", operation.Syntax.GetLocation(), new[] { call, axis.Text, x.Shape.ToString(), dims.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) }));
        }
    }
}
