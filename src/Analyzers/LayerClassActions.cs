using System;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using ModelGen.Parsing;

namespace ModelGen.Analyzers
{
    /// <summary>The set-up the per-class analyzers share: run an action on every <c>[Model]</c> and <c>[Layer]</c> class in source.</summary>
    internal static class LayerClassActions
    {
        /// <summary>
        /// Runs <paramref name="action"/> on each class carrying <c>[Model]</c> or <c>[Layer]</c>, in compilations that reference the
        /// runtime (elsewhere there is nothing to check). The caller configures concurrency and generated code itself (RS1025, RS1026).
        /// </summary>
        public static void Register(AnalysisContext context, Action<SymbolAnalysisContext, INamedTypeSymbol> action)
        {
            context.RegisterCompilationStartAction(start =>
            {
                var model = start.Compilation.GetTypeByMetadataName(KnownNames.ModelAttribute);
                var layer = start.Compilation.GetTypeByMetadataName(KnownNames.LayerAttribute);
                if (model is null && layer is null)
                    return;
                start.RegisterSymbolAction(symbolContext =>
                {
                    if (symbolContext.Symbol is INamedTypeSymbol type && SymbolLocations.HasAttribute(type, model, layer))
                        action(symbolContext, type);
                }, SymbolKind.NamedType);
            });
        }
    }
}
