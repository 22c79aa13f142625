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
using ModelGen.Diagnostics;

namespace ModelGen.CodeFixes
{
    /// <summary>MG0101: adds <c>partial</c> to every declaration of the model or layer class.</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MakePartialCodeFix)), Shared]
    public sealed class MakePartialCodeFix : CodeFixProvider
    {
        /// <inheritdoc />
        public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.NotPartial.Id);

        /// <inheritdoc />
        public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

        /// <inheritdoc />
        public override async Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
            if (root?.FindNode(context.Span).FirstAncestorOrSelf<ClassDeclarationSyntax>() is not { } declaration)
                return;
            context.RegisterCodeFix(
                CodeAction.Create(
                    $"Make '{declaration.Identifier.Text}' partial",
                    cancellationToken => MakePartialAsync(context.Document, declaration, cancellationToken),
                    equivalenceKey: nameof(MakePartialCodeFix)),
                context.Diagnostics);
        }

        /// <summary>Every declaration of the class needs the keyword, in whichever document it is.</summary>
        private static async Task<Solution> MakePartialAsync(Document document, ClassDeclarationSyntax declaration, CancellationToken cancellationToken)
        {
            var solution = document.Project.Solution;
            var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
            var declarations = model?.GetDeclaredSymbol(declaration, cancellationToken) is { } type
                ? type.DeclaringSyntaxReferences.Select(r => r.GetSyntax(cancellationToken)).OfType<ClassDeclarationSyntax>().ToList()
                : new() { declaration };
            foreach (var group in declarations.GroupBy(d => d.SyntaxTree))
            {
                if (solution.GetDocument(group.Key) is not { } target || await target.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false) is not { } root)
                    continue;
                var updated = root.ReplaceNodes(group, static (original, _) => AddPartial(original));
                solution = solution.WithDocumentSyntaxRoot(target.Id, updated);
            }
            return solution;
        }

        private static ClassDeclarationSyntax AddPartial(ClassDeclarationSyntax declaration)
        {
            if (declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
                return declaration;
            // 'partial' goes last among the modifiers, right before 'class'.
            var partialKeyword = SyntaxFactory.Token(SyntaxKind.PartialKeyword).WithTrailingTrivia(SyntaxFactory.Space);
            if (declaration.Modifiers.Count > 0)
                return declaration.WithModifiers(declaration.Modifiers.Add(partialKeyword));
            // No modifiers: the keyword becomes the first token and takes over the leading trivia (comments, indentation).
            return declaration
                .WithKeyword(declaration.Keyword.WithLeadingTrivia())
                .WithModifiers(SyntaxFactory.TokenList(partialKeyword.WithLeadingTrivia(declaration.Keyword.LeadingTrivia)));
        }
    }
}
