using System.Collections.Generic;
using System.Linq;
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
        private readonly Dictionary<string, long?> _values = new();
        private readonly HashSet<string> _evaluating = new();

        /// <summary>Creates a reader for <paramref name="config"/>.</summary>
        public ConfigReader(INamedTypeSymbol config, Compilation compilation, CancellationToken cancellationToken)
        {
            _config = config;
            _compilation = compilation;
            _cancellationToken = cancellationToken;
        }

        /// <summary>The config type.</summary>
        public INamedTypeSymbol Config => _config;

        /// <summary>True when the config type declares (or inherits) a property or field named <paramref name="member"/>.</summary>
        public bool HasMember(string member) => FindMember(member) is not null;

        /// <summary>The member's compile-time value, or null when it cannot be evaluated.</summary>
        public long? Value(string member)
        {
            if (_values.TryGetValue(member, out var known))
                return known;
            if (!_evaluating.Add(member))
                return null; // a cycle: Hidden = Ffn / 4, Ffn = Hidden * 4
            var value = Evaluate(member);
            _evaluating.Remove(member);
            _values[member] = value;
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
            switch (operation)
            {
                case null:
                    return null;
                case { ConstantValue: { HasValue: true } constant }:
                    return ToLong(constant.Value);
                case IConversionOperation conversion:
                    return Evaluate(conversion.Operand);
                case IPropertyReferenceOperation reference when SymbolEqualityComparer.Default.Equals(reference.Property.ContainingType, _config)
                                                             || IsBaseOfConfig(reference.Property.ContainingType):
                    return Value(reference.Property.Name);
                case IBinaryOperation binary:
                    var left = Evaluate(binary.LeftOperand);
                    var right = Evaluate(binary.RightOperand);
                    if (left is null || right is null)
                        return null;
                    return binary.OperatorKind switch
                    {
                        BinaryOperatorKind.Add => left + right,
                        BinaryOperatorKind.Subtract => left - right,
                        BinaryOperatorKind.Multiply => left * right,
                        BinaryOperatorKind.Divide when right != 0 => left / right,
                        BinaryOperatorKind.Remainder when right != 0 => left % right,
                        _ => null,
                    };
                default:
                    return null;
            }
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
            _ => null,
        };
    }
}
