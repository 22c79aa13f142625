using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace ModelGen.Parsing
{
    /// <summary>
    /// Evaluates a config type's defaults at compile time: property initializers (<c>int Hidden { get; init; } = 4096;</c>),
    /// positional record parameters with defaults, and const fields. Initializers may be arithmetic over literals and other
    /// members (<c>Ffn = 4 * Hidden</c>).
    /// </summary>
    public sealed class ConfigReader
    {
        private readonly INamedTypeSymbol _config;
        private readonly Compilation _compilation;
        private readonly CancellationToken _cancellationToken;
        private readonly Dictionary<string, Evaluated> _values = new();
        private readonly HashSet<string> _evaluating = new();
        private readonly HashSet<string> _overflowed = new();
        private int _depth;

        /// <summary>
        /// Top-level values per config type per compilation, shared by every reader: each layer class gets its own reader, and
        /// without sharing each one bound (and ran nullable analysis on) the config's initializers again — once per class.
        /// </summary>
        private static readonly ConditionalWeakTable<Compilation, ConcurrentDictionary<ISymbol, ConcurrentDictionary<string, Evaluated>>> Shared = new();

        private readonly ConcurrentDictionary<string, Evaluated> _shared;

        /// <summary>
        /// How deep evaluation may nest (member references plus parenthesised or right-nested operands). A chain of additions
        /// (<c>Base + 1 + 1 + …</c>) is folded in a loop and costs no depth, so thousands of terms are fine; beyond this depth the
        /// value is reported as unknown instead of overflowing the compiler's stack.
        /// </summary>
        public const int MaxDepth = 200;

        /// <summary>Creates a reader for <paramref name="config"/>.</summary>
        public ConfigReader(INamedTypeSymbol config, Compilation compilation, CancellationToken cancellationToken)
        {
            _config = config;
            _compilation = compilation;
            _cancellationToken = cancellationToken;
            _shared = Shared.GetValue(compilation, static _ => new ConcurrentDictionary<ISymbol, ConcurrentDictionary<string, Evaluated>>(SymbolEqualityComparer.Default))
                .GetOrAdd(config, static _ => new ConcurrentDictionary<string, Evaluated>());
        }

        /// <summary>The config type.</summary>
        public INamedTypeSymbol Config => _config;

        /// <summary>True when the config type declares (or inherits) a property or field named <paramref name="member"/>.</summary>
        public bool HasMember(string member) => FindMember(member) is not null;

        /// <summary>True when evaluating <paramref name="member"/> overflowed 64-bit arithmetic.</summary>
        public bool Overflowed(string member) => _overflowed.Contains(member);

        /// <summary>
        /// Why <paramref name="member"/> cannot be read from a config instance in generated code (<c>config.Member</c>), or null
        /// when it can: it must be an instance property or field of an integer type that converts to <c>long</c>, readable from
        /// <paramref name="within"/>. Constants and static members are read through the type instead: <paramref name="isStatic"/>.
        /// </summary>
        public string? UnusableReason(string member, INamedTypeSymbol within, out bool isStatic)
        {
            isStatic = false;
            var symbol = FindMember(member);
            ITypeSymbol? type;
            switch (symbol)
            {
                case IPropertySymbol property:
                    if (property.IsIndexer || property.GetMethod is null || property.ReturnsByRef || property.ReturnsByRefReadonly)
                        return "it is not a readable property";
                    if (!_compilation.IsSymbolAccessibleWithin(property.GetMethod, within))
                        return "its getter is not accessible from the layer";
                    type = property.Type;
                    isStatic = property.IsStatic;
                    break;
                case IFieldSymbol field:
                    if (!_compilation.IsSymbolAccessibleWithin(field, within))
                        return "it is not accessible from the layer";
                    type = field.Type;
                    isStatic = field.IsStatic || field.IsConst;
                    break;
                default:
                    return "it is not a property or field";
            }
            return type.SpecialType is SpecialType.System_Int32 or SpecialType.System_Int64 or SpecialType.System_Int16
                or SpecialType.System_UInt16 or SpecialType.System_Byte or SpecialType.System_SByte or SpecialType.System_UInt32
                ? null
                : $"its type is '{type.ToDisplayString()}', not an integer type (int or long)";
        }

        /// <summary>The member's compile-time value, or null when it cannot be evaluated.</summary>
        public long? Value(string member)
        {
            if (_values.TryGetValue(member, out var known))
                return known.Value;
            // Only a call from outside (depth 0) reads or writes the shared values, so a value cut short by a cycle or by the depth
            // limit inside one evaluation is never handed to another.
            var topLevel = _depth == 0;
            if (topLevel && _shared.TryGetValue(member, out var shared))
            {
                if (shared.Overflowed)
                    _overflowed.Add(member);
                _values[member] = shared;
                return shared.Value;
            }
            if (!_evaluating.Add(member) || _depth >= MaxDepth)
                return null; // a cycle (Hidden = Ffn / 4, Ffn = Hidden * 4), or nesting too deep to follow
            _depth++;
            long? value;
            try
            {
                value = Evaluate(member);
            }
            catch (System.OverflowException)
            {
                _overflowed.Add(member);
                value = null;
            }
            finally
            {
                _depth--;
                _evaluating.Remove(member);
            }
            var evaluated = new Evaluated(value, _overflowed.Contains(member));
            _values[member] = evaluated;
            if (topLevel)
                _shared.TryAdd(member, evaluated);
            return value;
        }

        private ISymbol? FindMember(string member)
        {
            for (var type = _config; type is not null; type = type.BaseType)
            {
                var found = type.GetMembers(member).FirstOrDefault(m => m is IPropertySymbol or IFieldSymbol);
                if (found is not null)
                    return found;
            }
            return null;
        }

        private long? Evaluate(string member)
        {
            _cancellationToken.ThrowIfCancellationRequested();
            switch (FindMember(member))
            {
                case IFieldSymbol { HasConstantValue: true } constant:
                    return ToLong(constant.ConstantValue);
                case IPropertySymbol property:
                    return FromInitializer(property) ?? FromPrimaryConstructor(property);
                default:
                    return null;
            }
        }

        private long? FromInitializer(IPropertySymbol property)
        {
            foreach (var reference in property.DeclaringSyntaxReferences)
            {
                if (reference.GetSyntax(_cancellationToken) is PropertyDeclarationSyntax { Initializer: { } initializer })
                    return EvaluateExpression(initializer.Value);
                if (reference.GetSyntax(_cancellationToken) is PropertyDeclarationSyntax { ExpressionBody: { } body } && property.IsStatic)
                    return EvaluateExpression(body.Expression);
            }
            return null;
        }

        private long? FromPrimaryConstructor(IPropertySymbol property)
        {
            // Positional records: `record Config(int Hidden = 4096)` — the property is backed by a constructor parameter.
            foreach (var constructor in _config.InstanceConstructors)
            {
                var parameter = constructor.Parameters.FirstOrDefault(p => p.Name == property.Name);
                if (parameter is { HasExplicitDefaultValue: true })
                    return ToLong(parameter.ExplicitDefaultValue);
            }
            return null;
        }

        private long? EvaluateExpression(ExpressionSyntax expression)
        {
            if (!_compilation.ContainsSyntaxTree(expression.SyntaxTree))
                return null;
            var model = _compilation.GetSemanticModel(expression.SyntaxTree);
            return Evaluate(model.GetOperation(expression, _cancellationToken));
        }

        private long? Evaluate(IOperation? operation)
        {
            if (_depth >= MaxDepth)
                return null;
            _depth++;
            try
            {
                return EvaluateOne(operation);
            }
            finally
            {
                _depth--;
            }
        }

        private long? EvaluateOne(IOperation? operation)
        {
            switch (operation)
            {
                case null:
                    return null;
                case { ConstantValue: { HasValue: true } constant }:
                    return ToLong(constant.Value);
                case IConversionOperation conversion:
                    return Evaluate(conversion.Operand);
                case IParenthesizedOperation parenthesized:
                    return Evaluate(parenthesized.Operand);
                case IPropertyReferenceOperation reference when SymbolEqualityComparer.Default.Equals(reference.Property.ContainingType, _config)
                                                             || IsBaseOfConfig(reference.Property.ContainingType):
                    return Value(reference.Property.Name);
                case IFieldReferenceOperation reference when SymbolEqualityComparer.Default.Equals(reference.Field.ContainingType, _config)
                                                          || IsBaseOfConfig(reference.Field.ContainingType):
                    return Value(reference.Field.Name);
                case IBinaryOperation binary:
                    return EvaluateChain(binary);
                default:
                    return null;
            }
        }

        /// <summary>
        /// Folds a left-nested chain (<c>((a + b) - c) * d</c>, how C# parses <c>a + b - c * …</c> runs) in a loop: one level of
        /// depth however many terms. Checked arithmetic: an overflow is reported, never wrapped into a wrong size.
        /// </summary>
        private long? EvaluateChain(IBinaryOperation top)
        {
            var chain = new Stack<IBinaryOperation>();
            IOperation left = top;
            while (left is IBinaryOperation binary && !binary.ConstantValue.HasValue)
            {
                chain.Push(binary);
                left = binary.LeftOperand;
            }
            var value = Evaluate(left);
            while (chain.Count > 0)
            {
                _cancellationToken.ThrowIfCancellationRequested();
                var binary = chain.Pop();
                var right = Evaluate(binary.RightOperand);
                if (value is null || right is null)
                    return null;
                value = binary.OperatorKind switch
                {
                    BinaryOperatorKind.Add => checked(value + right),
                    BinaryOperatorKind.Subtract => checked(value - right),
                    BinaryOperatorKind.Multiply => checked(value * right),
                    BinaryOperatorKind.Divide when right != 0 && !(value == long.MinValue && right == -1) => value / right,
                    BinaryOperatorKind.Remainder when right != 0 && right != -1 => value % right,
                    BinaryOperatorKind.Remainder when right == -1 => 0,
                    _ => null,
                };
            }
            return value;
        }

        private bool IsBaseOfConfig(INamedTypeSymbol type)
        {
            for (var t = _config.BaseType; t is not null; t = t.BaseType)
            {
                if (SymbolEqualityComparer.Default.Equals(t, type))
                    return true;
            }
            return false;
        }

        private static long? ToLong(object? value) => value switch
        {
            int i => i,
            long l => l,
            short s => s,
            byte b => b,
            uint u => u,
            ushort u => u,
            sbyte b => b,
            _ => null,
        };

        /// <summary>
        /// A member's value and whether evaluating it overflowed. A class, not a tuple: dictionaries of a struct value need their
        /// code compiled just in time in every compiler process, while dictionaries of classes share precompiled code
        /// (docs/benchmarks-analyzers.md).
        /// </summary>
        private sealed class Evaluated
        {
            public Evaluated(long? value, bool overflowed)
            {
                Value = value;
                Overflowed = overflowed;
            }

            public long? Value { get; }

            public bool Overflowed { get; }
        }
    }
}
