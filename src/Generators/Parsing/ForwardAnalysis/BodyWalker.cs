using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;
using ModelGen.Memory;
using ModelGen.Specs;

namespace ModelGen.Parsing.ForwardAnalysis
{
    /// <summary>
    /// Follows the tensors of one <c>Forward</c> body through its IOperation tree, once, statement by statement: block calls,
    /// TorchSharp ops with their symbolic shapes and saved tensors (<see cref="OpTable"/>), and shape errors. Ops it does not know
    /// are estimated conservatively and listed for an info diagnostic. The cost is linear in the body's operations.
    /// </summary>
    internal sealed partial class BodyWalker
    {
        private readonly LayerSpec _spec;
        private readonly Func<string, LayerSpec?> _layers;
        private readonly Dictionary<string, BlockSpec> _blocks = new(StringComparer.Ordinal);
        private readonly Dictionary<ISymbol, object?> _values = new(SymbolEqualityComparer.Default);
        private readonly Dictionary<ISymbol, string> _stackVariables = new(SymbolEqualityComparer.Default);
        private readonly HashSet<TensorValue> _savedByBlocks = new();
        private readonly List<object> _calls = new(); // a block name or an OpRecord, in the order they run
        private readonly CancellationToken _cancellationToken;
        private readonly TensorShape _fallback;
        private readonly Func<IPropertySymbol, Dim?> _configSize; // a config member's size, for loop bounds (BodyWalker.Loops.cs)
        private EquatableArray<Dim> _repeats = EquatableArray<Dim>.Empty;

        private BodyWalker(LayerSpec spec, Func<string, LayerSpec?> layers, Func<IPropertySymbol, Dim?>? configSize, CancellationToken cancellationToken)
        {
            _spec = spec;
            _configSize = configSize ?? (static _ => null);
            _layers = layers;
            _cancellationToken = cancellationToken;
            foreach (var block in spec.Blocks)
                _blocks[block.Name] = block;
            // A tensor whose shape the walk lost is sized as the widest activation the layer's blocks declare (never zero).
            var widest = SymbolicDim.Literal(1);
            foreach (var block in spec.Blocks)
            {
                var shape = BlockShape.Of(block, layers);
                foreach (var dim in new[] { shape.In, shape.Out })
                {
                    if (dim.Known && dim.Value > widest.Value)
                        widest = dim;
                }
            }
            _fallback = new TensorShape(new[] { SymbolicDim.BatchSize, SymbolicDim.SequenceLength, widest });
        }

        /// <summary>Shape errors, at their ops.</summary>
        public List<ShapeFinding> Findings { get; } = new();

        /// <summary>Ops estimated conservatively, for the info diagnostic.</summary>
        public List<OpRecord> Estimated { get; } = new();

        /// <summary>Walks <paramref name="body"/>, the Forward method of <paramref name="spec"/> whose tensor parameter is <paramref name="input"/>.</summary>
        /// <param name="body">The method body's operation.</param>
        /// <param name="input">The Forward's tensor parameter.</param>
        /// <param name="spec">The layer.</param>
        /// <param name="layers">Finds a sublayer's spec by type name.</param>
        /// <param name="cancellationToken">Cancels the walk.</param>
        /// <param name="configSize">The compile-time size of a config member a loop bound reads; null when unknown.</param>
        public static BodyWalker Walk(IOperation body, IParameterSymbol input, LayerSpec spec, Func<string, LayerSpec?> layers, CancellationToken cancellationToken,
            Func<IPropertySymbol, Dim?>? configSize = null)
        {
            var walker = new BodyWalker(spec, layers, configSize, cancellationToken);
            walker._values[input] = walker.InputTensor();
            walker.Statement(body);
            return walker;
        }

        /// <summary>The body as the memory model takes it: block calls and ops in order, each saved tensor counted once.</summary>
        public ForwardBody Body()
        {
            var counted = new HashSet<TensorValue>(_savedByBlocks);
            var calls = new List<ForwardCall>();
            foreach (var call in _calls)
            {
                if (call is string block)
                {
                    calls.Add(new ForwardCall(block, null));
                    continue;
                }
                if (call is BlockInLoop repeated)
                {
                    calls.Add(new ForwardCall(repeated.Block, null) { Repeats = repeated.Repeats });
                    continue;
                }
                var op = (OpRecord)call;
                var saved = op.Saved.Where(s => counted.Add(s.Tensor)).Select(s => Sized(s.Tensor, s.Name)).ToList();
                var created = op.Created.Select(t => Sized(t, t.Origin)).ToList();
                if (saved.Count == 0 && created.Count == 0)
                    continue; // a view: no new memory
                calls.Add(new ForwardCall(null, new ForwardOp(op.Call, new EquatableArray<ForwardTensor>(saved), new EquatableArray<ForwardTensor>(created), op.Estimated, op.Repeats)));
            }
            return new ForwardBody(new EquatableArray<ForwardCall>(calls));
        }

        private ForwardTensor Sized(TensorValue tensor, string name)
        {
            var shape = tensor.Shape.Elements.Known ? tensor.Shape : _fallback;
            var elements = shape.Elements;
            // Names say the shape in the config's words only: DescribeModel(config) may run with other sizes than the defaults.
            var text = ShapeText.WithoutValues(shape.ToString())
                + (tensor.Shape.Elements.Known ? "" : " (shape not followed: the layer's widest activation)");
            return new ForwardTensor(name + " " + text, new EquatableArray<Dim>(elements.Factors), new EquatableArray<Dim>(elements.Divisors),
                elements.Batch, elements.Sequence, tensor.Element, tensor.Sharded);
        }

        /// <summary>
        /// The Forward parameter: token ids [batch, seq] when the first block reads ids, else [batch, seq, width of the first block]
        /// (ModelGen's convention: layers pass [batch, seq, hidden] activations).
        /// </summary>
        private TensorValue InputTensor()
        {
            foreach (var block in _spec.Blocks)
            {
                var shape = BlockShape.Of(block, _layers);
                if (shape.ReadsIds)
                    return new TensorValue(new TensorShape(new[] { SymbolicDim.BatchSize, SymbolicDim.SequenceLength }), ForwardElement.Int64, false, "token ids");
                if (shape.In.Known)
                    return new TensorValue(new TensorShape(new[] { SymbolicDim.BatchSize, SymbolicDim.SequenceLength, shape.In }), Activation, false, "input");
            }
            return new TensorValue(TensorShape.Unknown, Activation, false, "input");
        }

        private void Statement(IOperation? operation)
        {
            if (operation is null)
                return;
            _cancellationToken.ThrowIfCancellationRequested();
            switch (operation)
            {
                case IVariableDeclarationGroupOperation group:
                    foreach (var declaration in group.Declarations)
                    {
                        foreach (var declarator in declaration.Declarators)
                        {
                            var initializer = declarator.Initializer?.Value ?? declaration.Initializer?.Value;
                            if (initializer is not null)
                                _values[declarator.Symbol] = Value(initializer);
                        }
                    }
                    break;
                case IExpressionStatementOperation statement:
                    Value(statement.Operation);
                    break;
                case IReturnOperation ret:
                    if (ret.ReturnedValue is not null)
                        Value(ret.ReturnedValue);
                    break;
                case IForEachLoopOperation loop:
                    ForEach(loop);
                    break;
                case IForLoopOperation loop:
                    For(loop); // BodyWalker.Loops.cs
                    break;
                case IWhileLoopOperation loop:
                    Uncounted(loop, "a while or do loop's count is not known at compile time");
                    break;
                case IConditionalOperation branch:
                    // Both branches are walked: the estimate holds whichever runs.
                    Value(branch.Condition);
                    Statement(branch.WhenTrue);
                    Statement(branch.WhenFalse);
                    break;
                default:
                    if (operation.Type is not null && operation is not IBlockOperation)
                        Value(operation);
                    else
                        foreach (var child in operation.ChildOperations)
                            Statement(child);
                    break;
            }
        }

        private void ForEach(IForEachLoopOperation loop)
        {
            var stack = BlockName(loop.Collection);
            if (stack is not null && _blocks[stack] is StackSpec spec && loop.LoopControlVariable is IVariableDeclaratorOperation variable)
            {
                _stackVariables[variable.Symbol] = stack;
                var outer = _repeats;
                var added = _loopedStacks.Add(stack);
                _repeats = new EquatableArray<Dim>(outer.Concat(new[] { spec.Count })); // ops in the loop run once per repeat
                Statement(loop.Body);
                _repeats = outer;
                if (added)
                    _loopedStacks.Remove(stack);
                return;
            }
            UncountedLoops.Add(new UncountedLoop(Header(loop.Syntax), HeaderLocation(loop.Syntax), "its collection is not a [Stack] block"));
            Value(loop.Collection);
            Statement(loop.Body);
        }

        /// <summary>The block a receiver names: <c>Up</c>, a stack's loop variable, <c>Blocks[i]</c>.</summary>
        private string? BlockName(IOperation? receiver)
        {
            while (receiver is IConversionOperation conversion)
                receiver = conversion.Operand;
            return receiver switch
            {
                IPropertyReferenceOperation { Property.IsIndexer: true } indexer => BlockName(indexer.Instance) is { } stack && _blocks[stack] is StackSpec ? stack : null,
                IPropertyReferenceOperation property when property.Instance is IInstanceReferenceOperation && _blocks.ContainsKey(property.Property.Name) => property.Property.Name,
                ILocalReferenceOperation local when _stackVariables.TryGetValue(local.Local, out var stack) => stack,
                _ => null,
            };
        }

        /// <summary>
        /// A call of a block: <paramref name="arguments"/> are its argument expressions (the first is the tensor it transforms).
        /// Before the generator has run, a sublayer has no <c>call</c> yet and the call is an invalid operation; it is read the same.
        /// </summary>
        private object? BlockCall(string name, IReadOnlyList<IOperation> arguments, IOperation call)
        {
            var block = _blocks[name];
            var shape = BlockShape.Of(block, _layers);
            var argument = arguments.Count > 0 ? Tensor(arguments[0]) : null;
            if (argument is not null && !shape.ReadsIds && shape.In.Known && argument.Shape.Last.Differs(shape.In))
                Findings.Add(new ShapeFinding("MG0505", call.Syntax.GetLocation(), new[] { name, shape.In.Text, argument.Shape.ToString() }));
            if (argument is not null && shape.SavesInput && KeepsArgument(block, argument))
                _savedByBlocks.Add(argument);
            foreach (var extra in arguments.Skip(1))
                Value(extra);
            // A primitive block in a counted loop runs once per repeat; a sublayer or stack is walked once (its own count covers a stack).
            _calls.Add(_repeats.Count == 0 || block is LayerRefSpec or StackSpec ? name : new BlockInLoop(name, _repeats));
            CheckLayerInLoop(name, block, call); // BodyWalker.Loops.cs

            TensorShape output;
            if (BlockShape.KeepsShape(block))
                output = argument?.Shape ?? TensorShape.Unknown;
            else if (shape.ReadsIds && argument?.Shape.Dims is { } ids && shape.Out.Known)
                output = new TensorShape(ids.Concat(new[] { shape.Out }).ToList());
            else if (argument?.Shape.Dims is { Count: > 0 } && shape.Out.Known)
                output = argument.Shape.WithLast(shape.Out);
            else
                output = shape.Out.Known ? new TensorShape(new[] { SymbolicDim.BatchSize, SymbolicDim.SequenceLength, shape.Out }) : TensorShape.Unknown;
            var sharded = shape.ShardedOutput || (BlockShape.KeepsShape(block) && argument?.Sharded == true);
            return new TensorValue(output, BlockOutput(block, argument), sharded, name + " output");
        }

        /// <summary>The value as a tensor: its tracked value, or a tensor of unknown shape when the expression is a Tensor.</summary>
        private TensorValue? Tensor(IOperation operation)
        {
            var value = Value(operation);
            if (value is TensorValue tensor)
                return tensor;
            return IsTensor(operation.Type) ? new TensorValue(TensorShape.Unknown, Activation, false, "tensor") : null;
        }

        private void Assign(IOperation target, object? value)
        {
            switch (target)
            {
                case ILocalReferenceOperation local:
                    _values[local.Local] = value;
                    break;
                case IParameterReferenceOperation parameter:
                    _values[parameter.Parameter] = value;
                    break;
                default:
                    Value(target);
                    break;
            }
        }

        /// <summary>True for <c>TorchSharp.torch.Tensor</c>.</summary>
        internal static bool IsTensor(ITypeSymbol? type) =>
            type is { Name: "Tensor", ContainingType: { Name: "torch", ContainingNamespace.Name: "TorchSharp" } };

        /// <summary>True for a method of TorchSharp (Tensor's methods, torch.*, torch.nn.functional.*, extension methods).</summary>
        private static bool IsTorchMethod(IMethodSymbol method)
        {
            var ns = method.ContainingNamespace;
            while (ns is { ContainingNamespace.IsGlobalNamespace: false })
                ns = ns.ContainingNamespace;
            return ns?.Name == "TorchSharp";
        }
    }
}
