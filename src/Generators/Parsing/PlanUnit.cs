using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using ModelGen.Generators.Emit;

namespace ModelGen.Parsing
{
    /// <summary>
    /// What the generator writes for a model's <c>[ParallelPlan]</c>: the plan as constants and the training factory.
    /// Equality contract: value equality over every member; holds no Roslyn object.
    /// </summary>
    /// <param name="HintName">The generated file's name (the model's metadata name with <c>`Plan</c>, which no type can have).</param>
    /// <param name="Namespace">The model's namespace, empty for the global one.</param>
    /// <param name="Name">The model class.</param>
    /// <param name="ConfigType">The config type, fully qualified.</param>
    /// <param name="Accessibility">Accessibility of the generated members (no more visible than the config type).</param>
    /// <param name="TensorParallel">The plan's tensor-parallel ranks.</param>
    /// <param name="DataParallel">The plan's data-parallel ranks.</param>
    /// <param name="ZeroStage">The plan's ZeRO stage.</param>
    /// <param name="OffloadOptimizer">The plan's optimizer offload.</param>
    /// <param name="OffloadParameters">The plan's parameter offload.</param>
    /// <param name="SequenceParallel">The plan's sequence parallelism.</param>
    /// <param name="Sharded">The model or a layer it uses has [Shard] blocks: its constructor takes tensor-parallel options.</param>
    /// <param name="VocabParallelHead">The model's head can return <c>V/t</c> logits (a column-parallel head, or one tied to a
    /// vocab-sharded embedding): the training factory then uses the vocab-parallel cross-entropy unless the plan gathers the logits.</param>
    /// <param name="GatheredLogits">The plan's <c>GatheredLogits</c>: the loss reads all <c>V</c> logits, gathered on every rank.</param>
    public sealed record PlanUnit(string HintName, string Namespace, string Name, string ConfigType, string Accessibility,
        int TensorParallel, int DataParallel, int ZeroStage, bool OffloadOptimizer, bool OffloadParameters, bool SequenceParallel, bool Sharded,
        bool VocabParallelHead = false, bool GatheredLogits = false)
    {
        /// <summary>
        /// The unit for <paramref name="type"/>, or null when nothing should be written: no <c>[Model]</c> with a config type, a
        /// class the module generator does not generate either (not partial, nested, generic, a shape or config it cannot
        /// build: see <see cref="ClassShape.ModuleProblem"/>), or a part of the class other than the one holding the plan.
        /// </summary>
        public static PlanUnit? For(INamedTypeSymbol type, SyntaxNode target)
        {
            var plan = PlanParser.Find(type);
            var model = AttributeReader.Find(type, KnownNames.ModelAttribute);
            if (plan?.ApplicationSyntaxReference is not { } planSyntax || model is null
                || AttributeReader.Argument(model, 0).Value is not INamedTypeSymbol config || config.TypeKind == TypeKind.Error
                || type.ContainingType is not null || type.IsGenericType
                || target is not TypeDeclarationSyntax declaration || !declaration.Modifiers.Any(SyntaxKind.PartialKeyword)
                || planSyntax.SyntaxTree != target.SyntaxTree || !target.FullSpan.Contains(planSyntax.Span)
                // No generated constructor to call (the class's parse reports why): a class named like a generated member, a
                // record, one with a base or constructor of its own, or a config that is not a record or class.
                || ClassShape.ModuleProblem(type) is not null || LayerParser.ConfigProblem(config) is not null)
                return null;
            return new PlanUnit(
                HintNames.For(LayerParser.MetadataName(type) + "`Plan"),
                LayerParser.NamespaceOf(type),
                type.Name,
                config.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                LayerParser.EffectiveAccessibility(config),
                AttributeReader.Named(plan, "TensorParallel", 1),
                AttributeReader.Named(plan, "DataParallel", 1),
                AttributeReader.Named(plan, "ZeroStage", 0),
                AttributeReader.Named(plan, "OffloadOptimizer", false),
                AttributeReader.Named(plan, "OffloadParameters", false),
                AttributeReader.Named(plan, "SequenceParallel", false),
                LayerParser.ShardedInside(type),
                LayerParser.VocabParallelHead(type),
                AttributeReader.Named(plan, "GatheredLogits", false));
        }
    }
}
