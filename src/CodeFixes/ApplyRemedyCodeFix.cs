using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using ModelGen.Analyzers.Budgets;
using ModelGen.Diagnostics;
using ModelGen.Memory;
using ModelGen.Parsing;

namespace ModelGen.CodeFixes
{
    /// <summary>
    /// MG0001: applies the cheapest computed remedy that fits (carried in the diagnostic's properties) by editing attributes only:
    /// <c>[Checkpoint]</c> / <c>[Checkpoint(CheckpointMode.Selective)]</c> on a layer class or a stack, <c>[Precision(DType.BFloat16)]</c>
    /// on the model, <c>[Quantize]</c> on a layer's Linear blocks, <c>[LoRA]</c> on the model (with NF4 Linear blocks: QLoRA), or
    /// ZeroStage / OffloadOptimizer / Batch / TensorParallel / Optimizer on the budget.
    /// </summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ApplyRemedyCodeFix)), Shared]
    public sealed class ApplyRemedyCodeFix : CodeFixProvider
    {
        /// <inheritdoc />
        public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.BudgetExceeded.Id);

        /// <inheritdoc />
        public override FixAllProvider? GetFixAllProvider() => null; // each budget has its own remedy; applying several at once would overshoot

        /// <inheritdoc />
        public override Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            foreach (var diagnostic in context.Diagnostics)
            {
                if (!diagnostic.Properties.TryGetValue(BudgetProperties.RemedyKind, out var kindText)
                    || !Enum.TryParse<RemedyKind>(kindText, out var kind)
                    || !diagnostic.Properties.TryGetValue(BudgetProperties.RemedyDescription, out var description))
                    continue;
                context.RegisterCodeFix(
                    CodeAction.Create(
                        $"Fit the budget: {description}",
                        cancellationToken => ApplyAsync(context.Document, diagnostic, kind, cancellationToken),
                        equivalenceKey: nameof(ApplyRemedyCodeFix) + "." + kind),
                    diagnostic);
            }
            return Task.CompletedTask;
        }

        private static async Task<Solution> ApplyAsync(Document document, Diagnostic diagnostic, RemedyKind kind, CancellationToken cancellationToken)
        {
            var solution = document.Project.Solution;
            var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
            var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
            if (root?.FindNode(diagnostic.Location.SourceSpan).FirstAncestorOrSelf<AttributeSyntax>() is not { Parent: AttributeListSyntax budgetList } budget || model is null)
                return solution;
            var properties = diagnostic.Properties;
            var degree = properties.TryGetValue(BudgetProperties.RemedyDegree, out var d) ? d ?? "0" : "0";
            var edits = new List<(AttributeListSyntax Old, Func<SemanticModel, AttributeListSyntax> New)>();
            // With [ParallelPlan] on the model the parallel remedies change the plan: it is what runs, and every budget follows it.
            var plan = (budgetList.Parent as ClassDeclarationSyntax)?.AttributeLists.SelectMany(l => l.Attributes).FirstOrDefault(a => IsNamed(a, "ParallelPlan"));
            void SetOnBudget(string name, string value) => edits.Add((budgetList, _ => budgetList.ReplaceNode(budget, AttributeEdits.SetNamed(budget, name, value))));
            void SetOnPlan(string name, string value)
            {
                if (plan is not { Parent: AttributeListSyntax planList })
                    SetOnBudget(name, value);
                else
                    edits.Add((planList, _ => planList.ReplaceNode(plan, AttributeEdits.SetNamed(plan, name, value))));
            }

            var layer = properties.TryGetValue(BudgetProperties.RemedyLayer, out var l) && l is not null ? model.Compilation.GetTypeByMetadataName(l) : null;
            switch (kind)
            {
                case RemedyKind.ZeroStage: SetOnPlan("ZeroStage", degree); break;
                case RemedyKind.OffloadOptimizer: SetOnPlan("OffloadOptimizer", "true"); break;
                case RemedyKind.HalveBatch: SetOnBudget("Batch", degree); break;
                case RemedyKind.TensorParallel: SetOnPlan("TensorParallel", degree); break;
                case RemedyKind.SelectiveCheckpoint:
                    OnClass(layer, edits, KnownNames.CheckpointAttribute, "Checkpoint", m => $"({AttributeEdits.TypeName(m.Model, m.Position, "CheckpointMode", "ModelGen.CheckpointMode")}.Selective)");
                    break;
                case RemedyKind.CheckpointLayer:
                    OnClass(layer, edits, KnownNames.CheckpointAttribute, "Checkpoint", _ => null);
                    break;
                case RemedyKind.BFloat16:
                    OnClass(layer, edits, KnownNames.PrecisionAttribute, "Precision", m => $"({AttributeEdits.TypeName(m.Model, m.Position, "DType", "ModelGen.DType")}.BFloat16)");
                    break;
                case RemedyKind.CheckpointStack when properties.TryGetValue(BudgetProperties.RemedyBlock, out var block) && block is not null:
                    foreach (var property in Properties(layer, p => p.Identifier.Text == block))
                        edits.Add((Host(property, KnownNames.StackAttribute), m => CheckpointStack(property, m)));
                    break;
                case RemedyKind.Adam8BitStates:
                    SetOnBudget("Optimizer", AttributeEdits.TypeName(model, budget.SpanStart, "Optimizer", "ModelGen.Optimizer") + ".Adam8Bit");
                    break;
                case RemedyKind.Lora or RemedyKind.QLora when properties.TryGetValue(BudgetProperties.RemedyBlock, out var targets) && targets is not null:
                    var modelClass = budget.FirstAncestorOrSelf<ClassDeclarationSyntax>() is { } declaration ? model.GetDeclaredSymbol(declaration, cancellationToken) : null;
                    OnClass(modelClass, edits, KnownNames.LoRAAttribute, "LoRA", _ => AdapterEdits.LoraArguments(targets));
                    if (kind == RemedyKind.QLora)
                    {
                        Quantize(layer, edits, "NF4");
                        QuantizeProjectionBlocks(layer, edits); // Remedies.QLoraQuantizes: Attention / FeedForward too
                    }
                    break;
                case RemedyKind.QuantizeInt8 or RemedyKind.QuantizeNF4:
                    Quantize(layer, edits, kind == RemedyKind.QuantizeInt8 ? "Int8" : "NF4");
                    break;
            }
            return await ApplyEditsAsync(solution, edits, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>Appends <c>[Quantize(QuantKind.<paramref name="format"/>)]</c> to every plain Linear block of <paramref name="layer"/>.</summary>
        private static void Quantize(INamedTypeSymbol? layer, List<(AttributeListSyntax, Func<SemanticModel, AttributeListSyntax>)> edits, string format)
        {
            foreach (var property in Properties(layer, IsPlainLinear))
                edits.Add((Host(property, KnownNames.LinearAttribute), m => AttributeEdits.Append(Host(property, KnownNames.LinearAttribute),
                    AttributeEdits.Create(AttributeEdits.TypeName(m, property.SpanStart, "Quantize", KnownNames.QuantizeAttribute),
                        $"({AttributeEdits.TypeName(m, property.SpanStart, "QuantKind", "ModelGen.QuantKind")}.{format})"))));
        }

        /// <summary>QLoRA: appends <c>[Quantize(QuantKind.NF4)]</c> to every unsharded Attention and FeedForward block without one (their projections become QuantizedLinear).</summary>
        private static void QuantizeProjectionBlocks(INamedTypeSymbol? layer, List<(AttributeListSyntax, Func<SemanticModel, AttributeListSyntax>)> edits)
        {
            foreach (var (kind, metadataName) in new[] { ("Attention", KnownNames.AttentionAttribute), ("FeedForward", KnownNames.FeedForwardAttribute) })
            {
                foreach (var property in Properties(layer, p => IsPlainBlock(p, kind)))
                    edits.Add((Host(property, metadataName), m => AttributeEdits.Append(Host(property, metadataName),
                        AttributeEdits.Create(AttributeEdits.TypeName(m, property.SpanStart, "Quantize", KnownNames.QuantizeAttribute),
                            $"({AttributeEdits.TypeName(m, property.SpanStart, "QuantKind", "ModelGen.QuantKind")}.NF4)"))));
            }
        }

        /// <summary>A block of <paramref name="kind"/> without [Quantize] and without [Shard].</summary>
        private static bool IsPlainBlock(PropertyDeclarationSyntax property, string kind)
        {
            var attributes = property.AttributeLists.SelectMany(l => l.Attributes).ToList();
            return attributes.Any(a => IsNamed(a, kind)) && !attributes.Any(a => IsNamed(a, "Quantize") || IsNamed(a, "Shard"));
        }

        /// <summary>Sets the class attribute <paramref name="metadataName"/> of <paramref name="layer"/>: replaces it when present, else appends it to the list holding [Model] or [Layer].</summary>
        private static void OnClass(INamedTypeSymbol? layer, List<(AttributeListSyntax, Func<SemanticModel, AttributeListSyntax>)> edits,
            string metadataName, string name, Func<(SemanticModel Model, int Position), string?> arguments)
        {
            var declaration = layer?.DeclaringSyntaxReferences.Select(r => r.GetSyntax()).OfType<ClassDeclarationSyntax>().FirstOrDefault(c => c.AttributeLists.Count > 0);
            if (declaration is null)
                return;
            var host = declaration.AttributeLists.FirstOrDefault(list => list.Attributes.Any(a => IsNamed(a, "Model") || IsNamed(a, "Layer"))) ?? declaration.AttributeLists[0];
            edits.Add((host, model =>
            {
                var existing = AttributeEdits.Find(declaration.AttributeLists, model, metadataName);
                var written = AttributeEdits.Create(AttributeEdits.TypeName(model, declaration.SpanStart, name, metadataName), arguments((model, declaration.SpanStart)));
                if (existing is null)
                    return AttributeEdits.Append(host, written);
                var replaced = existing.WithArgumentList(written.ArgumentList);
                return existing.Parent == host ? host.ReplaceNode(existing, replaced) : AttributeEdits.Append(host, written);
            }));
        }

        /// <summary>[Checkpoint] on a stack: an existing one loses its Every (so every repeat is checkpointed), else one is appended.</summary>
        private static AttributeListSyntax CheckpointStack(PropertyDeclarationSyntax property, SemanticModel model)
        {
            var host = Host(property, KnownNames.StackAttribute);
            var existing = AttributeEdits.Find(property.AttributeLists, model, KnownNames.CheckpointAttribute);
            if (existing is not null && existing.Parent == host)
                return host.ReplaceNode(existing, AttributeEdits.RemoveNamed(existing, "Every"));
            return AttributeEdits.Append(host, AttributeEdits.Create(AttributeEdits.TypeName(model, property.SpanStart, "Checkpoint", KnownNames.CheckpointAttribute), null));
        }

        private static IEnumerable<PropertyDeclarationSyntax> Properties(INamedTypeSymbol? layer, Func<PropertyDeclarationSyntax, bool> predicate) =>
            layer is null
                ? Enumerable.Empty<PropertyDeclarationSyntax>()
                : layer.GetMembers().OfType<IPropertySymbol>()
                    .SelectMany(p => p.DeclaringSyntaxReferences.Select(r => r.GetSyntax()).OfType<PropertyDeclarationSyntax>().Where(s => s.AttributeLists.Count > 0))
                    .Where(s => predicate(s));

        /// <summary>A Linear block without [Quantize] and without [TiedTo]: what the quantize remedies change.</summary>
        private static bool IsPlainLinear(PropertyDeclarationSyntax property)
        {
            var attributes = property.AttributeLists.SelectMany(l => l.Attributes).ToList();
            return attributes.Any(a => IsNamed(a, "Linear")) && !attributes.Any(a => IsNamed(a, "Quantize") || IsNamed(a, "TiedTo"));
        }

        /// <summary>The attribute list of <paramref name="property"/> that holds its block attribute, else its first list.</summary>
        private static AttributeListSyntax Host(PropertyDeclarationSyntax property, string metadataName)
        {
            var simple = metadataName.Substring(metadataName.LastIndexOf('.') + 1).Replace("Attribute", "");
            return property.AttributeLists.FirstOrDefault(list => list.Attributes.Any(a => IsNamed(a, simple))) ?? property.AttributeLists[0];
        }

        private static bool IsNamed(AttributeSyntax attribute, string simple)
        {
            var name = attribute.Name switch
            {
                QualifiedNameSyntax q => q.Right.Identifier.Text,
                AliasQualifiedNameSyntax a => a.Name.Identifier.Text,
                SimpleNameSyntax s => s.Identifier.Text,
                _ => attribute.Name.ToString(),
            };
            return name == simple || name == simple + "Attribute";
        }

        private static async Task<Solution> ApplyEditsAsync(Solution solution, List<(AttributeListSyntax Old, Func<SemanticModel, AttributeListSyntax> New)> edits, CancellationToken cancellationToken)
        {
            foreach (var group in edits.GroupBy(e => e.Old.SyntaxTree))
            {
                if (solution.GetDocument(group.Key) is not { } target
                    || await target.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false) is not { } root
                    || await target.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false) is not { } model)
                    continue;
                var replacements = group.ToDictionary(e => e.Old, e => e.New(model));
                solution = solution.WithDocumentSyntaxRoot(target.Id, root.ReplaceNodes(replacements.Keys, (old, _) => replacements[old]));
            }
            return solution;
        }
    }
}
