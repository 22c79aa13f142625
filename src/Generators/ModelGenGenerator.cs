using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;
using ModelGen.Generators.Emit;
using ModelGen.Parsing;
using ModelGen.Specs;

namespace ModelGen.Generators
{
    /// <summary>
    /// Emits a TorchSharp <c>Module&lt;Tensor, Tensor&gt;</c> for every <c>[Model]</c> and <c>[Layer]</c> partial class.
    /// This file only wires the pipeline: parsing is <see cref="LayerParser"/>, emitting is <see cref="LayerEmitter"/>.
    /// Diagnostics are reported by the analyzers (same parser); a class with errors gets no generated code.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed class ModelGenGenerator : IIncrementalGenerator
    {
        /// <inheritdoc />
        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            var models = context.SyntaxProvider
                .ForAttributeWithMetadataName(KnownNames.ModelAttribute, static (node, _) => node is ClassDeclarationSyntax, static (ctx, ct) => Parse(ctx, ct))
                .WithTrackingName(TrackingNames.Models);
            var layers = context.SyntaxProvider
                .ForAttributeWithMetadataName(KnownNames.LayerAttribute, static (node, _) => node is ClassDeclarationSyntax, static (ctx, ct) => Parse(ctx, ct))
                .WithTrackingName(TrackingNames.Layers);

            context.RegisterSourceOutput(models, static (spc, spec) => Emit(spc, spec));
            context.RegisterSourceOutput(layers, static (spc, spec) => Emit(spc, spec));
        }

        private static LayerSpec? Parse(GeneratorAttributeSyntaxContext context, System.Threading.CancellationToken cancellationToken) =>
            context.TargetSymbol is INamedTypeSymbol type
                ? LayerParser.Parse(type, context.SemanticModel.Compilation, cancellationToken).Spec
                : null;

        private static void Emit(SourceProductionContext context, LayerSpec? spec)
        {
            if (spec is null)
                return;
            context.CancellationToken.ThrowIfCancellationRequested();
            context.AddSource(LayerEmitter.FileName(spec), SourceText.From(LayerEmitter.Emit(spec), System.Text.Encoding.UTF8));
        }
    }
}
