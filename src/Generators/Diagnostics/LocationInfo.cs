using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace ModelGen.Diagnostics
{
    /// <summary>
    /// A source location as a value (file path and span), so parse results can be cached and compared.
    /// <see cref="ToLocation"/> maps it back onto the compilation's syntax tree: only a location in a tree (a <c>SourceLocation</c>)
    /// is checked against that tree's <c>#pragma warning disable</c> directives and <c>[SuppressMessage]</c>; a file location made
    /// from the path (<c>Location.Create(path, span, lineSpan)</c>, an external file) prints the same line and column but is never
    /// suppressed (dotnet/roslyn#68291).
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

        /// <summary>
        /// The location in <paramref name="compilation"/>'s one tree of the same path that holds the span, or a file location when there
        /// is no such tree (or several trees share the path, as trees without a path do).
        /// </summary>
        public Location ToLocation(Compilation? compilation)
        {
            SyntaxTree? found = null;
            if (compilation is not null)
            {
                foreach (var tree in compilation.SyntaxTrees)
                {
                    if (tree.FilePath != FilePath)
                        continue;
                    if (found is not null)
                        return Location.Create(FilePath, Span, LineSpan);
                    found = tree;
                }
            }
            return found is not null && Span.End <= found.Length
                ? Location.Create(found, Span)
                : Location.Create(FilePath, Span, LineSpan);
        }
    }
}
