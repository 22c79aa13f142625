using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;
using ModelGen.Specs;

namespace ModelGen.Parsing.ForwardAnalysis
{
    /// <summary>A loop of a Forward body whose trip count is not known at compile time: its body is counted once (MG0571, info).</summary>
    /// <param name="Loop">The loop's header as written, e.g. <c>for (var i = 0; i &lt; n; i++)</c>.</param>
    /// <param name="Location">The loop's header.</param>
    /// <param name="Reason">Why the count is not known.</param>
    public sealed record UncountedLoop(string Loop, Location Location, string Reason);

    /// <summary>A sublayer or stack called inside a counted loop: the memory model walks it once (MG0572, info).</summary>
    /// <param name="Block">The block's property name.</param>
    /// <param name="Location">The call.</param>
    /// <param name="Repeats">The loop's count in the config's words, e.g. <c>Layers (4)</c>.</param>
    public sealed record LayerInLoop(string Block, Location Location, string Repeats);

    /// <summary>
    /// Loops: a <c>for</c> loop whose trip count is a compile-time size (a literal or constant, a config member, a stack's
    /// <c>Count</c>) multiplies what its body's ops save by that count, as <c>foreach</c> over a stack does; any other loop is
    /// walked once and reported (docs/forward-analysis.md, "Loops").
    /// </summary>
    internal sealed partial class BodyWalker
    {
        /// <summary>Loops counted once because their trip count is unknown, for the info diagnostic.</summary>
        public List<UncountedLoop> UncountedLoops { get; } = new();

        /// <summary>Sublayers and stacks called inside a counted loop (other than a stack's own loop), for the info diagnostic.</summary>
        public List<LayerInLoop> LayersInLoops { get; } = new();

        // Stacks whose own loop (foreach over it, or for up to its Count) the walk is inside: calling them there is not a repeat.
        private readonly HashSet<string> _loopedStacks = new(System.StringComparer.Ordinal);

        /// <summary>Records a sublayer or stack called in a counted loop that is not the stack's own loop.</summary>
        private void CheckLayerInLoop(string name, BlockSpec block, IOperation call)
        {
            if (block is not (LayerRefSpec or StackSpec) || _repeats.Count == 0)
                return;
            var own = block is StackSpec && _loopedStacks.Contains(name) ? 1 : 0;
            if (_repeats.Count > own)
                LayersInLoops.Add(new LayerInLoop(name, call.Syntax.GetLocation(), string.Join(" × ", _repeats.Select(r => r.ToString()))));
        }

        private void For(IForLoopOperation loop)
        {
            foreach (var before in loop.Before)
                Statement(before);
            var (count, reason, stack) = TripCount(loop);
            if (count is null)
                UncountedLoops.Add(new UncountedLoop(Header(loop.Syntax), HeaderLocation(loop.Syntax), reason));
            var added = stack is not null && _loopedStacks.Add(stack);
            Repeated(count, () =>
            {
                if (loop.Condition is not null)
                    Value(loop.Condition);
                Statement(loop.Body);
                foreach (var bottom in loop.AtLoopBottom)
                    Statement(bottom);
            });
            if (added)
                _loopedStacks.Remove(stack!);
        }

        /// <summary>A loop the analysis cannot count (while, do, foreach over something other than a stack): walked once, reported.</summary>
        private void Uncounted(ILoopOperation loop, string reason)
        {
            UncountedLoops.Add(new UncountedLoop(Header(loop.Syntax), HeaderLocation(loop.Syntax), reason));
            foreach (var child in loop.ChildOperations)
                Statement(child);
        }

        /// <summary>Walks <paramref name="body"/> with its ops repeated <paramref name="count"/> more times (once when null).</summary>
        private void Repeated(Dim? count, System.Action body)
        {
            var outer = _repeats;
            if (count is { } times)
                _repeats = new EquatableArray<Dim>(outer.Concat(new[] { times }));
            body();
            _repeats = outer;
        }

        /// <summary>
        /// The trip count of <c>for (int i = a; i &lt; b; i++)</c> (also <c>&lt;=</c>, <c>b &gt; i</c>, <c>++i</c>, <c>i += 1</c>): a literal
        /// <c>b − a</c> for constant bounds; the config member or stack count <c>b</c> itself when <c>a</c> is 0. Null, with the
        /// reason, otherwise.
        /// </summary>
        private (Dim? Count, string Reason, string? Stack) TripCount(IForLoopOperation loop)
        {
            if (loop.Condition is not IBinaryOperation condition)
                return (null, "it has no comparison as its condition", null);
            ILocalSymbol? variable = null;
            long start = 0;
            foreach (var declarator in loop.Before.OfType<IVariableDeclarationGroupOperation>().SelectMany(g => g.Declarations).SelectMany(d => d.Declarators))
            {
                if (declarator.Initializer?.Value.ConstantValue is { HasValue: true, Value: int or long } initial)
                {
                    variable = declarator.Symbol;
                    start = System.Convert.ToInt64(initial.Value, System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            if (variable is null)
                return (null, "its counter does not start at a constant", null);
            IOperation? bound = null;
            var inclusive = false;
            if (IsLocal(condition.LeftOperand, variable) && condition.OperatorKind is BinaryOperatorKind.LessThan or BinaryOperatorKind.LessThanOrEqual)
            {
                bound = condition.RightOperand;
                inclusive = condition.OperatorKind == BinaryOperatorKind.LessThanOrEqual;
            }
            else if (IsLocal(condition.RightOperand, variable) && condition.OperatorKind is BinaryOperatorKind.GreaterThan or BinaryOperatorKind.GreaterThanOrEqual)
            {
                bound = condition.LeftOperand;
                inclusive = condition.OperatorKind == BinaryOperatorKind.GreaterThanOrEqual;
            }
            if (bound is null)
                return (null, $"its condition does not compare the counter '{variable.Name}' with an upper bound", null);
            if (!StepsByOne(loop.AtLoopBottom, variable))
                return (null, $"its counter '{variable.Name}' does not step by one", null);
            while (bound is IConversionOperation conversion)
                bound = conversion.Operand;
            if (bound.ConstantValue is { HasValue: true, Value: int or long } constant)
            {
                var end = System.Convert.ToInt64(constant.Value, System.Globalization.CultureInfo.InvariantCulture) + (inclusive ? 1 : 0);
                return (Dim.Literal(System.Math.Max(0, end - start)), "", null);
            }
            if (start != 0 || inclusive)
                return (null, "a bound that is a size counts only from 0 with '<'", null);
            if (bound is IPropertyReferenceOperation { Property.Name: "Count" or "Length" } count && BlockName(count.Instance) is { } stack && _blocks[stack] is StackSpec spec)
                return (spec.Count, "", stack);
            if (bound is IPropertyReferenceOperation member && _configSize(member.Property) is { } size)
                return (size, "", null);
            return (null, $"its bound '{bound.Syntax}' is not a literal, a constant, a config member or a stack's Count", null);
        }

        private static bool IsLocal(IOperation operation, ILocalSymbol variable)
        {
            while (operation is IConversionOperation conversion)
                operation = conversion.Operand;
            return operation is ILocalReferenceOperation local && SymbolEqualityComparer.Default.Equals(local.Local, variable);
        }

        /// <summary><c>i++</c>, <c>++i</c>, <c>i += 1</c> and nothing else at the loop's bottom.</summary>
        private static bool StepsByOne(System.Collections.Immutable.ImmutableArray<IOperation> bottom, ILocalSymbol variable)
        {
            if (bottom.Length != 1)
                return false;
            var step = bottom[0] is IExpressionStatementOperation statement ? statement.Operation : bottom[0];
            return step switch
            {
                IIncrementOrDecrementOperation { Kind: OperationKind.Increment } increment => IsLocal(increment.Target, variable),
                ICompoundAssignmentOperation { OperatorKind: BinaryOperatorKind.Add } add => IsLocal(add.Target, variable)
                    && add.Value.ConstantValue is { HasValue: true, Value: 1 or 1L },
                _ => false,
            };
        }

        private static string Header(SyntaxNode loop)
        {
            var text = loop.ToString();
            var end = text.IndexOf(')');
            var header = end > 0 ? text.Substring(0, end + 1) : text;
            return ShapeText.OneSpace(header);
        }

        private static Location HeaderLocation(SyntaxNode loop)
        {
            var first = loop.GetFirstToken();
            return Location.Create(loop.SyntaxTree, first.Span);
        }
    }
}
