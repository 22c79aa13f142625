using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;
using ModelGen.Diagnostics;
using ModelGen.Generators.Emit;
using ModelGen.Parsing;
using ModelGen.Specs;

namespace ModelGen.Generators
{
    /// <summary>
    /// Emits a TorchSharp <c>Module&lt;Tensor, Tensor&gt;</c> for every <c>[Model]</c> and <c>[Layer]</c> partial class, and a
    /// throwing shell for every such class it cannot generate. It reports the parser's diagnostics itself: the command-line
    /// compiler drops analyzer diagnostics once declarations have errors, but always prints a generator's (docs/diagnostics.md).
    /// This file only wires the pipeline: parsing is <see cref="LayerParser"/>, emitting <see cref="LayerEmitter"/> and <see cref="ShellEmitter"/>.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed class ModelGenGenerator : IIncrementalGenerator
    {
        /// <inheritdoc />
        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            var models = context.SyntaxProvider
                .ForAttributeWithMetadataName(KnownNames.ModelAttribute, static (node, _) => node is TypeDeclarationSyntax, static (ctx, ct) => Parse(ctx, ct, fromLayer: false))
                .WithTrackingName(TrackingNames.Models);
            var layers = context.SyntaxProvider
                .ForAttributeWithMetadataName(KnownNames.LayerAttribute, static (node, _) => node is TypeDeclarationSyntax, static (ctx, ct) => Parse(ctx, ct, fromLayer: true))
                .WithTrackingName(TrackingNames.Layers);

            // Code and diagnostics travel apart, so a changed message never regenerates code (and the reverse).
            var modelUnits = models.Select(static (p, _) => p?.Unit).WithTrackingName(TrackingNames.ModelUnits);
            var layerUnits = layers.Select(static (p, _) => p?.Unit).WithTrackingName(TrackingNames.LayerUnits);
            var modelDiagnostics = models.Select(static (p, _) => new ClassDiagnostics(p?.Diagnostics ?? default)).WithTrackingName(TrackingNames.ModelDiagnostics);
            var layerDiagnostics = layers.Select(static (p, _) => new ClassDiagnostics(p?.Diagnostics ?? default)).WithTrackingName(TrackingNames.LayerDiagnostics);

            context.RegisterSourceOutput(modelUnits, static (spc, unit) => Emit(spc, unit));
            context.RegisterSourceOutput(layerUnits, static (spc, unit) => Emit(spc, unit));
            // [ParallelPlan]: the plan's values and the training factory, in a file of their own (see ParallelEmitter).
            var plans = context.SyntaxProvider
                .ForAttributeWithMetadataName(PlanParser.ParallelPlanAttribute, static (node, _) => node is TypeDeclarationSyntax,
                    static (ctx, _) => ctx.TargetSymbol is INamedTypeSymbol type ? PlanUnit.For(type, ctx.TargetNode) : null)
                .WithTrackingName(TrackingNames.Plans);
            context.RegisterSourceOutput(plans, static (spc, unit) =>
            {
                if (unit is not null)
                    spc.AddSource(unit.HintName, SourceText.From(ParallelEmitter.Emit(unit), System.Text.Encoding.UTF8));
            });
            // Diagnostics are reported at locations in the current compilation's trees, so #pragma warning disable and [SuppressMessage]
            // apply (LocationInfo.ToLocation). Pairing them with the compilation re-runs only this reporting on each edit: the code
            // outputs above stay cached.
            context.RegisterSourceOutput(modelDiagnostics.Combine(context.CompilationProvider).WithTrackingName(TrackingNames.ModelDiagnosticsReported),
                static (spc, pair) => Report(spc, pair.Left, pair.Right));
            context.RegisterSourceOutput(layerDiagnostics.Combine(context.CompilationProvider).WithTrackingName(TrackingNames.LayerDiagnosticsReported),
                static (spc, pair) => Report(spc, pair.Left, pair.Right));
        }

        private static ParsedClass? Parse(GeneratorAttributeSyntaxContext context, System.Threading.CancellationToken cancellationToken, bool fromLayer)
        {
            if (context.TargetSymbol is not INamedTypeSymbol type)
                return null;
            // A class with both attributes is parsed (and reported) once, by the [Model] pipeline: MG0120.
            if (fromLayer && type.GetAttributes().Any(a => AttributeReader.Is(a, KnownNames.ModelAttribute)))
                return null;
            // Parts of one class that each carry the attribute (CS0579) are each matched: only the part with the first one speaks,
            // so no hint name is added twice.
            var first = AttributeReader.Find(type, fromLayer ? KnownNames.LayerAttribute : KnownNames.ModelAttribute)?.ApplicationSyntaxReference;
            if (first is not null && (first.SyntaxTree != context.TargetNode.SyntaxTree || !context.TargetNode.FullSpan.Contains(first.Span)))
                return null;
            // Through the compilation's parse cache: a model's Forward analysis parses each sublayer it calls for its shape, and the
            // [Layer] pipeline would otherwise parse each of those classes a second time in the same compilation.
            // Recorded so that the analyzers, given this compilation plus the generated files, read the same parse (GeneratorInput).
            GeneratorInput.Record(context.SemanticModel.Compilation);
            var parse = ParseCache.Parse(type, context.SemanticModel.Compilation, cancellationToken);
            var unit = parse.Spec is not null || parse.Shell is not null
                ? new GenerationUnit(parse.HintName, parse.Spec, parse.FieldNames, parse.MemberAccessibility, parse.Shell, parse.AdaptersBelow)
                {
                    Decoder = !fromLayer && parse.Spec is { IsModel: true } && DecoderDetector.HasCausalAttention(type),
                }
                : null;
            var diagnostics = parse.Diagnostics.Where(d => ReportedHere(d, parse)).ToEquatableArray();
            return new ParsedClass(unit, diagnostics);
        }

        /// <summary>
        /// The generator reports every parser diagnostic, except MG0101 on a class without partial members: there the compiler has
        /// no declaration error, the analyzers run, and <c>LayerAnalyzer</c> reports it with its code fix.
        /// </summary>
        private static bool ReportedHere(DiagnosticInfo diagnostic, LayerParse parse) =>
            diagnostic.Id != Descriptors.NotPartial.Id || parse.HasPartialMembers;

        private static void Emit(SourceProductionContext context, GenerationUnit? unit)
        {
            if (unit is null)
                return;
            context.CancellationToken.ThrowIfCancellationRequested();
            var text = unit.Spec is { } spec
                ? LayerEmitter.Emit(spec, unit.FieldNames, unit.MemberAccessibility, unit.AdaptersBelow)
                : ShellEmitter.Emit(unit.Shell!);
            context.AddSource(unit.HintName, SourceText.From(text, System.Text.Encoding.UTF8));
            if (unit.Decoder && unit.Spec is { } decoder)
                context.AddSource(InferenceEmitter.HintName(unit.HintName), SourceText.From(InferenceEmitter.Emit(decoder), System.Text.Encoding.UTF8));
        }

        private static void Report(SourceProductionContext context, ClassDiagnostics diagnostics, Compilation compilation)
        {
            foreach (var diagnostic in diagnostics.Items)
                context.ReportDiagnostic(diagnostic.ToDiagnostic(compilation));
        }
    }
}
