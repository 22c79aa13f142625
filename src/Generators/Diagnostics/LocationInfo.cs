using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace ModelGen.Diagnostics
{
    /// <summary>
    /// A source location as a value (file path and span), so parse results can be cached and compared.
    /// <see cref="ToLocation"/> maps it back onto the compilation's syntax tree, which keeps <c>#pragma warning disable</c> working.
    /// </summary>
    /// <param name="FilePath">The syntax tree's path.</param>
    /// <param name="Span">The text span.</param>
    /// <param name="LineSpan">The line span, for a location outside the compilation.</param>
    public sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
    {
        /// <summary>Captures a location; null for locations not in source.</summary>
        public static LocationInfo? From(Location? location)
        {
            if (location is null || location.SourceTree is null)
                return null;
            return new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);
        }

        /// <summary>Captures the location of a syntax node.</summary>
        public static LocationInfo? From(SyntaxNode? node) => node is null ? null : From(node.GetLocation());

        /// <summary>The location in <paramref name="compilation"/>'s tree of the same path, or a file location if the tree is gone.</summary>
        public Location ToLocation(Compilation? compilation)
        {
            if (compilation is not null)
            {
                foreach (var tree in compilation.SyntaxTrees)
                {
                    if (tree.FilePath == FilePath)
                        return Location.Create(tree, Span);
                }
            }
            return Location.Create(FilePath, Span, LineSpan);
        }
    }
}
