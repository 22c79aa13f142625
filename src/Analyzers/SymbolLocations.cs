using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;

namespace ModelGen.Analyzers
{
    /// <summary>Where in source a finding about a class, a block or an attribute goes.</summary>
    internal static class SymbolLocations
    {
        /// <summary>True when <paramref name="type"/> carries one of the given attribute classes.</summary>
        public static bool HasAttribute(INamedTypeSymbol type, INamedTypeSymbol? first, INamedTypeSymbol? second) =>
            type.GetAttributes().Any(a => a.AttributeClass is { } c
                && (SymbolEqualityComparer.Default.Equals(c, first) || SymbolEqualityComparer.Default.Equals(c, second)));

        /// <summary>
        /// The attribute <paramref name="attribute"/> on the block property <paramref name="block"/>, else the property's name;
        /// without a block, the attribute on the class, else the class's name. Pointing at the attribute puts the squiggle on the argument that is wrong.
        /// </summary>
        public static Location OfBlock(INamedTypeSymbol type, string? block, string? attribute, CancellationToken cancellationToken)
        {
            var property = block is null ? null : type.GetMembers(block).OfType<IPropertySymbol>().FirstOrDefault();
            if (property is null)
            {
                var onClass = attribute is null ? null : type.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == attribute);
                return OfAttribute(onClass, cancellationToken) ?? type.Locations.FirstOrDefault() ?? Location.None;
            }
            var data = attribute is null ? null : property.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == attribute);
            return OfAttribute(data, cancellationToken) ?? property.Locations.FirstOrDefault() ?? Location.None;
        }

        /// <summary>The source location of an attribute application, or null when it comes from metadata.</summary>
        public static Location? OfAttribute(AttributeData? attribute, CancellationToken cancellationToken) =>
            attribute?.ApplicationSyntaxReference?.GetSyntax(cancellationToken).GetLocation();
    }
}
