using System.Linq;
using Microsoft.CodeAnalysis;

namespace ModelGen.Parsing
{
    /// <summary>Small typed accessors over <see cref="AttributeData"/>.</summary>
    internal static class AttributeReader
    {
        public static AttributeData? Find(ISymbol symbol, string metadataName) =>
            symbol.GetAttributes().FirstOrDefault(a => Is(a, metadataName));

        public static bool Is(AttributeData attribute, string metadataName) =>
            attribute.AttributeClass is { } type && HasFullName(type, metadataName);

        /// <summary>
        /// True when <paramref name="type"/> is the non-generic, non-nullable-annotated type named <paramref name="fullName"/>
        /// (namespaces and containing types joined by dots): the same answer as comparing <c>ToDisplayString()</c>, without
        /// formatting a string per attribute, which was a tenth of the generator's time on a model of 100 layer classes.
        /// </summary>
        public static bool HasFullName(ITypeSymbol type, string fullName)
        {
            if (type is not INamedTypeSymbol { Arity: 0 } named || type.NullableAnnotation == NullableAnnotation.Annotated)
                return false;
            var end = fullName.Length;
            for (ISymbol? part = named; part is not null && !(part is INamespaceSymbol { IsGlobalNamespace: true }); part = part.ContainingSymbol)
            {
                if (part is INamedTypeSymbol { Arity: > 0 })
                    return false;
                var name = part.Name;
                var start = end - name.Length;
                if (start < 0 || string.CompareOrdinal(fullName, start, name, 0, name.Length) != 0)
                    return false;
                end = start;
                if (end == 0)
                    return part.ContainingSymbol is null or INamespaceSymbol { IsGlobalNamespace: true };
                if (fullName[end - 1] != '.')
                    return false;
                end--;
            }
            return false;
        }

        public static TypedConstant Argument(AttributeData attribute, int index) =>
            index < attribute.ConstructorArguments.Length ? attribute.ConstructorArguments[index] : default;

        public static T Named<T>(AttributeData attribute, string name, T fallback)
        {
            foreach (var pair in attribute.NamedArguments)
            {
                if (pair.Key == name && pair.Value.Value is T value)
                    return value;
            }
            return fallback;
        }

        public static string? NamedString(AttributeData attribute, string name)
        {
            foreach (var pair in attribute.NamedArguments)
            {
                if (pair.Key == name)
                    return pair.Value.Value as string;
            }
            return null;
        }

        /// <summary>
        /// An enum argument, which arrives as its underlying int; the caller casts it to the enum (all of ModelGen's enums are
        /// int-based). Not generic: an instantiation per enum type would be compiled just in time in every compiler process
        /// (docs/benchmarks-analyzers.md).
        /// </summary>
        public static int NamedEnum(AttributeData attribute, string name, int fallback)
        {
            foreach (var pair in attribute.NamedArguments)
            {
                if (pair.Key == name && pair.Value.Value is int value)
                    return value;
            }
            return fallback;
        }

        public static Location? LocationOf(AttributeData attribute) =>
            attribute.ApplicationSyntaxReference?.GetSyntax().GetLocation();
    }
}
