using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.CodeAnalysis;

namespace ModelGen.Parsing
{
    /// <summary>
    /// One parse per class per compilation for the analyzers: <c>LayerAnalyzer</c> parses every class and <c>BudgetAnalyzer</c>
    /// every layer each model reaches, so without sharing a layer used by several models was parsed once per model and once more.
    /// A parse that is cancelled throws and leaves nothing behind. The generator uses it too: a Forward body's analysis parses the
    /// sublayers it calls (for their shapes) through this cache, and the generator's own parse of those classes then finds them.
    /// In a build the analyzers' compilation is the generator's plus the generated files: they read the generator's parses
    /// (<see cref="GeneratorInput"/>), so each class is parsed once per build.
    /// </summary>
    public static class ParseCache
    {
        private static readonly ConditionalWeakTable<Compilation, ConcurrentDictionary<INamedTypeSymbol, LayerParse>> PerCompilation = new();

        /// <summary>The parse of <paramref name="type"/> in <paramref name="compilation"/>, computed once.</summary>
        public static LayerParse Parse(INamedTypeSymbol type, Compilation compilation, CancellationToken cancellationToken)
        {
            GeneratorInput.Map(ref type, ref compilation); // in a build, the analyzers read the parse the generator made
            var parses = PerCompilation.GetValue(compilation, static _ => new ConcurrentDictionary<INamedTypeSymbol, LayerParse>(SymbolEqualityComparer.Default));
            if (parses.TryGetValue(type, out var known))
                return known;
            var parse = LayerParser.Parse(type, compilation, cancellationToken);
            return parses.GetOrAdd(type, parse);
        }
    }
}
