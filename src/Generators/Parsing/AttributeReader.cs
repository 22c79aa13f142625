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
            attribute.AttributeClass?.ToDisplayString() == metadataName;

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

        /// <summary>Enum arguments arrive as their underlying int.</summary>
        public static TEnum NamedEnum<TEnum>(AttributeData attribute, string name, TEnum fallback) where TEnum : struct
        {
            foreach (var pair in attribute.NamedArguments)
            {
                if (pair.Key == name && pair.Value.Value is int value)
                    return (TEnum)(object)value;
            }
            return fallback;
        }

        public static Location? LocationOf(AttributeData attribute) =>
            attribute.ApplicationSyntaxReference?.GetSyntax().GetLocation();
    }
}
