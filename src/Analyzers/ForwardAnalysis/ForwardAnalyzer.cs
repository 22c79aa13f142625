using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using ModelGen.Diagnostics;
using ModelGen.Parsing;
using ModelGen.Parsing.ForwardAnalysis;

namespace ModelGen.Analyzers.ForwardAnalysis
{
    /// <summary>
    /// Reads the <c>Forward</c> body of every <c>[Layer]</c> and <c>[Model]</c> class (<see cref="BodyWalker"/>) and reports its
    /// shape errors (MG0501–MG0508) at their ops, and each op it could not analyze (MG0539, info) with the conservative estimate
    /// the memory model uses for it. docs/forward-analysis.md.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class ForwardAnalyzer : DiagnosticAnalyzer
    {
        private static readonly ImmutableArray<DiagnosticDescriptor> Supported = ImmutableArray.Create(
            Descriptors.AddShapeMismatch, Descriptors.MultiplyShapeMismatch, Descriptors.MatMulShapeMismatch, Descriptors.ReshapeElementCount,
            Descriptors.BlockWidthMismatch, Descriptors.CatShapeMismatch, Descriptors.DimensionOutOfRange, Descriptors.MaskShapeMismatch,
            Descriptors.ForwardOpEstimated, Descriptors.ForwardLoopUncounted, Descriptors.ForwardLayerInLoop);

        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => Supported;

        /// <inheritdoc />
        public override void Initialize(AnalysisContext context)
        {
            context.EnableConcurrentExecution();
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            LayerClassActions.Register(context, Analyze);
        }

        private static void Analyze(SymbolAnalysisContext context, INamedTypeSymbol type)
        {
            var compilation = context.Compilation;
            if (ParseCache.Parse(type, compilation, context.CancellationToken).Spec is not { } spec
                || ForwardBodies.Analyze(type, spec, compilation, context.CancellationToken) is not { } result)
                return;
            foreach (var finding in result.Findings)
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.ById(finding.Id), finding.Location, finding.Arguments.Cast<object>().ToArray()));
            foreach (var op in result.Estimated)
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.ForwardOpEstimated, op.Location, op.Call, spec.Name, "saved: " + op.Saved));
            foreach (var loop in result.UncountedLoops)
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.ForwardLoopUncounted, loop.Location, loop.Loop, spec.Name, loop.Reason));
            foreach (var layer in result.LayersInLoops)
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.ForwardLayerInLoop, layer.Location, layer.Block, layer.Repeats, spec.Name));
        }
    }
}
