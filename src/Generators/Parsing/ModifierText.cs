using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace ModelGen.Parsing
{
    /// <summary>
    /// The text of a declaration's modifiers, read with a loop: LINQ over <see cref="SyntaxToken"/> (a struct) is generic code that
    /// every compiler process compiles just in time, while this runs precompiled (docs/benchmarks-analyzers.md).
    /// </summary>
    internal static class ModifierText
    {
        /// <summary>Each modifier's text in order, without <c>partial</c> when <paramref name="withoutPartial"/>.</summary>
        public static List<string> Of(SyntaxTokenList modifiers, bool withoutPartial)
        {
            var texts = new List<string>(modifiers.Count);
            foreach (var modifier in modifiers)
            {
                if (!withoutPartial || !modifier.IsKind(SyntaxKind.PartialKeyword))
                    texts.Add(modifier.Text);
            }
            return texts;
        }
    }
}
