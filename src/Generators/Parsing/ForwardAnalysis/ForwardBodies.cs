using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using ModelGen.Memory;
using ModelGen.Specs;

namespace ModelGen.Parsing.ForwardAnalysis
{
    /// <summary>A shape error found in a Forward body: the descriptor id, its message arguments, and the op's location.</summary>
    /// <param name="Id">MG0501–MG0508.</param>
    /// <param name="Location">The op.</param>
    /// <param name="Arguments">The message arguments (the symbolic shapes).</param>
    public sealed record ShapeFinding(string Id, Location Location, IReadOnlyList<string> Arguments);

    /// <summary>An op the analysis does not know, estimated conservatively.</summary>
    /// <param name="Call">The call as the message names it.</param>
    /// <param name="Location">The call.</param>
    /// <param name="Saved">The shapes the estimate assumes saved.</param>
    public sealed record EstimatedOp(string Call, Location Location, string Saved);

    /// <summary>The analysis of one Forward body.</summary>
    /// <param name="Body">What the memory model walks; null when the body is the declared blocks once each in order with no op of its own.</param>
    /// <param name="Findings">Shape errors.</param>
    /// <param name="Estimated">Ops estimated conservatively.</param>
    public sealed record ForwardBodyAnalysis(ForwardBody? Body, IReadOnlyList<ShapeFinding> Findings, IReadOnlyList<EstimatedOp> Estimated)
    {
        /// <summary>Loops whose trip count is not known at compile time: their bodies are counted once (MG0571).</summary>
        public IReadOnlyList<UncountedLoop> UncountedLoops { get; init; } = System.Array.Empty<UncountedLoop>();

        /// <summary>Sublayers and stacks called inside a counted loop: walked once (MG0572).</summary>
        public IReadOnlyList<LayerInLoop> LayersInLoops { get; init; } = System.Array.Empty<LayerInLoop>();
    }

    /// <summary>
    /// One analysis per layer class per compilation, shared by the parser (which puts <see cref="ForwardBodyAnalysis.Body"/> in the
    /// spec, so the analyzers, the generated <c>DescribeModel</c> and the runtime planner walk the same body) and the
    /// <c>ForwardAnalyzer</c> (which reports the findings).
    /// </summary>
    public static class ForwardBodies
    {
        private static readonly ConditionalWeakTable<Compilation, ConcurrentDictionary<INamedTypeSymbol, ForwardBodyAnalysis?>> PerCompilation = new();

        // Layers whose body is being walked on this thread: a sublayer's width lookup parses the sublayer, which must not walk a
        // layer that contains itself again (the memory model reports such a cycle).
        [ThreadStatic]
        private static HashSet<INamedTypeSymbol>? _walking;

        /// <summary>The analysis of <paramref name="type"/>'s Forward (parsed as <paramref name="spec"/>); null without a Forward body in source.</summary>
        public static ForwardBodyAnalysis? Analyze(INamedTypeSymbol type, LayerSpec spec, Compilation compilation, CancellationToken cancellationToken)
        {
            GeneratorInput.Map(ref type, ref compilation); // the body as the generator bound it (and the generated code describes)
            var results = PerCompilation.GetValue(compilation, static _ => new ConcurrentDictionary<INamedTypeSymbol, ForwardBodyAnalysis?>(SymbolEqualityComparer.Default));
            if (results.TryGetValue(type, out var known))
                return known;
            _walking ??= new HashSet<INamedTypeSymbol>(SymbolEqualityComparer.Default);
            if (!_walking.Add(type))
                return null;
            try
            {
                return results.GetOrAdd(type, Compute(type, spec, compilation, cancellationToken));
            }
            finally
            {
                _walking.Remove(type);
            }
        }

        private static ForwardBodyAnalysis? Compute(INamedTypeSymbol type, LayerSpec spec, Compilation compilation, CancellationToken cancellationToken)
        {
            var method = type.GetMembers(spec.Forward.MethodName).OfType<IMethodSymbol>()
                .FirstOrDefault(m => m.Parameters.Length >= 1 && BodyWalker.IsTensor(m.Parameters[0].Type) && m.DeclaringSyntaxReferences.Length > 0);
            if (method?.DeclaringSyntaxReferences[0].GetSyntax(cancellationToken) is not BaseMethodDeclarationSyntax syntax)
                return null;
            if (compilation.GetSemanticModel(syntax.SyntaxTree).GetOperation(syntax, cancellationToken) is not { } body)
                return null;
            LayerSpec? Layer(string fullName)
            {
                var name = fullName.StartsWith("global::", StringComparison.Ordinal) ? fullName.Substring("global::".Length) : fullName;
                var child = compilation.GetTypeByMetadataName(name);
                return child is null || _walking!.Contains(child) ? null : ParseCache.Parse(child, compilation, cancellationToken).Spec;
            }
            // A loop bound that reads a config member (cfg.Layers) is that member's default value, like a block's size.
            ConfigReader? config = null;
            Dim? ConfigSize(IPropertySymbol property)
            {
                if (property.ContainingType is not { } owner || owner.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) != spec.ConfigType)
                    return null;
                config ??= new ConfigReader(owner, compilation, cancellationToken);
                return config.Value(property.Name) is long value ? new Dim(property.Name, value) : null;
            }
            var walker = BodyWalker.Walk(body, method.Parameters[0], spec, Layer, cancellationToken, ConfigSize);
            var forward = walker.Body();
            var estimated = walker.Estimated.Select(op => new EstimatedOp(op.Call, op.Location, string.Join(", ", op.Saved.Select(s => s.Tensor.Shape.ToString())))).ToList();
            return new ForwardBodyAnalysis(IsDeclarationOrder(forward, spec) ? null : forward, walker.Findings, estimated) { UncountedLoops = walker.UncountedLoops, LayersInLoops = walker.LayersInLoops };
        }

        /// <summary>Each block called once, in declaration order, and no op: the walk without a body is the same.</summary>
        private static bool IsDeclarationOrder(ForwardBody body, LayerSpec spec) =>
            body.Calls.Count == spec.Blocks.Count && body.Calls.Select((c, i) => c.Op is null && c.Block == spec.Blocks[i].Name && c.Repeats.Count == 0).All(same => same);
    }
}
