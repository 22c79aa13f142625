using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using ModelGen.Memory;
using ModelGen.Parsing;
using ModelGen.Specs;

namespace ModelGen.Analyzers.ForwardAnalysis
{
    /// <summary>The analysis of one Forward body: what the memory model walks, the shape errors, the ops estimated conservatively.</summary>
    internal sealed record ForwardResult(ForwardBody Body, IReadOnlyList<ShapeFinding> Findings, IReadOnlyList<OpRecord> Estimated, string LayerName);

    /// <summary>
    /// One analysis per layer class per compilation, shared by <see cref="ForwardAnalyzer"/> (diagnostics) and the budget
    /// analyzer (memory): a layer reached by several models, or by every budget of one, is walked once.
    /// </summary>
    internal static class ForwardBodies
    {
        private static readonly ConditionalWeakTable<Compilation, ConcurrentDictionary<INamedTypeSymbol, ForwardResult?>> PerCompilation = new();

        /// <summary>The analysis of <paramref name="type"/>'s Forward, or null when the class does not parse or has no Forward body in source.</summary>
        public static ForwardResult? Analyze(INamedTypeSymbol type, Compilation compilation, CancellationToken cancellationToken)
        {
            var results = PerCompilation.GetValue(compilation, static _ => new ConcurrentDictionary<INamedTypeSymbol, ForwardResult?>(SymbolEqualityComparer.Default));
            if (results.TryGetValue(type, out var known))
                return known;
            var result = Compute(type, compilation, cancellationToken);
            return results.GetOrAdd(type, result);
        }

        /// <summary>
        /// <paramref name="model"/> with each layer's analyzed body attached (<see cref="LayerSpec.Body"/>), so the memory model walks
        /// the ops the user wrote and the order the blocks really run in.
        /// </summary>
        public static ModelSpec Attach(ModelSpec model, Compilation compilation, CancellationToken cancellationToken)
        {
            LayerSpec With(LayerSpec layer)
            {
                var type = compilation.GetTypeByMetadataName(layer.Namespace.Length == 0 ? layer.Name : layer.Namespace + "." + layer.Name);
                return type is not null && Analyze(type, compilation, cancellationToken) is { } result ? layer with { Body = result.Body } : layer;
            }
            return new ModelSpec(With(model.Root), new EquatableArray<LayerSpec>(model.Layers.Select(With)));
        }

        private static ForwardResult? Compute(INamedTypeSymbol type, Compilation compilation, CancellationToken cancellationToken)
        {
            if (ParseCache.Parse(type, compilation, cancellationToken).Spec is not { } spec)
                return null;
            var method = type.GetMembers(spec.Forward.MethodName).OfType<IMethodSymbol>()
                .FirstOrDefault(m => m.Parameters.Length >= 1 && BodyWalker.IsTensor(m.Parameters[0].Type) && m.DeclaringSyntaxReferences.Length > 0);
            if (method?.DeclaringSyntaxReferences[0].GetSyntax(cancellationToken) is not BaseMethodDeclarationSyntax syntax)
                return null;
            var semanticModel = compilation.GetSemanticModel(syntax.SyntaxTree);
            if (semanticModel.GetOperation(syntax, cancellationToken) is not { } body)
                return null;
            LayerSpec? Layer(string fullName)
            {
                var name = fullName.StartsWith("global::", System.StringComparison.Ordinal) ? fullName.Substring("global::".Length) : fullName;
                var child = compilation.GetTypeByMetadataName(name);
                return child is null ? null : ParseCache.Parse(child, compilation, cancellationToken).Spec;
            }
            var walker = BodyWalker.Walk(body, method.Parameters[0], spec, Layer, cancellationToken);
            return new ForwardResult(walker.Body(), walker.Findings, walker.Estimated, spec.Name);
        }
    }
}
