using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace ModelGen.CodeFixes
{
    /// <summary>
    /// Edits of attribute syntax that keep everything else as the user wrote it: an attribute is appended to an existing
    /// attribute list (<c>[Layer(typeof(Cfg))]</c> → <c>[Layer(typeof(Cfg)), Checkpoint]</c>), a named argument is set in place or
    /// appended. Nothing but attributes is ever touched.
    /// </summary>
    internal static class AttributeEdits
    {
        /// <summary>
        /// How to write a ModelGen type at <paramref name="position"/>: its short name when it binds there (a <c>using ModelGen;</c>
        /// is in scope), else <c>global::ModelGen.</c> + name.
        /// </summary>
        public static string TypeName(SemanticModel model, int position, string name, string metadataName)
        {
            var symbol = model.Compilation.GetTypeByMetadataName(metadataName);
            var visible = model.LookupNamespacesAndTypes(position, name: metadataName.Substring(metadataName.LastIndexOf('.') + 1));
            return symbol is not null && visible.Any(s => SymbolEqualityComparer.Default.Equals(s, symbol)) ? name : "global::ModelGen." + name;
        }

        /// <summary>An attribute from its written name and argument text, e.g. <c>("Checkpoint", "(CheckpointMode.Selective)")</c>.</summary>
        public static AttributeSyntax Create(string name, string? arguments) =>
            SyntaxFactory.Attribute(SyntaxFactory.ParseName(name), arguments is null ? null : SyntaxFactory.ParseAttributeArgumentList(arguments));

        /// <summary>Appends <paramref name="attribute"/> to <paramref name="list"/> after a comma and a space.</summary>
        public static AttributeListSyntax Append(AttributeListSyntax list, AttributeSyntax attribute)
        {
            var separators = list.Attributes.GetSeparators().ToList();
            separators.Add(SyntaxFactory.Token(SyntaxKind.CommaToken).WithTrailingTrivia(SyntaxFactory.Space));
            var attributes = list.Attributes.Select(a => a).Concat(new[] { attribute.WithoutTrivia() });
            return list.WithAttributes(SyntaxFactory.SeparatedList(attributes, separators));
        }

        /// <summary>Sets <c>Name = value</c> on <paramref name="attribute"/>: replaces the value when present, else appends the argument.</summary>
        public static AttributeSyntax SetNamed(AttributeSyntax attribute, string name, string value)
        {
            var expression = SyntaxFactory.ParseExpression(value);
            var arguments = attribute.ArgumentList ?? SyntaxFactory.AttributeArgumentList();
            var existing = arguments.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.Text == name);
            if (existing is not null)
                return attribute.WithArgumentList(arguments.ReplaceNode(existing, existing.WithExpression(expression.WithTriviaFrom(existing.Expression))));
            var argument = SyntaxFactory.AttributeArgument(
                SyntaxFactory.NameEquals(SyntaxFactory.IdentifierName(name), SyntaxFactory.Token(SyntaxKind.EqualsToken).WithLeadingTrivia(SyntaxFactory.Space).WithTrailingTrivia(SyntaxFactory.Space)),
                null, expression);
            var separators = arguments.Arguments.GetSeparators().ToList();
            if (arguments.Arguments.Count > 0)
                separators.Add(SyntaxFactory.Token(SyntaxKind.CommaToken).WithTrailingTrivia(SyntaxFactory.Space));
            return attribute.WithArgumentList(arguments.WithArguments(SyntaxFactory.SeparatedList(arguments.Arguments.Concat(new[] { argument }), separators)));
        }

        /// <summary>Removes the named argument <paramref name="name"/> when present (e.g. <c>Every = 2</c>, so the default applies).</summary>
        public static AttributeSyntax RemoveNamed(AttributeSyntax attribute, string name)
        {
            var existing = attribute.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.Text == name);
            if (existing is null)
                return attribute;
            var remaining = attribute.ArgumentList!.Arguments.Remove(existing);
            return remaining.Count == 0
                ? attribute.WithArgumentList(null)
                : attribute.WithArgumentList(attribute.ArgumentList.WithArguments(remaining));
        }

        /// <summary>The attribute of <paramref name="lists"/> whose class is <paramref name="metadataName"/>, if any.</summary>
        public static AttributeSyntax? Find(SyntaxList<AttributeListSyntax> lists, SemanticModel model, string metadataName) =>
            lists.SelectMany(l => l.Attributes).FirstOrDefault(a =>
                model.GetSymbolInfo(a).Symbol?.ContainingType?.ToDisplayString() == metadataName);
    }
}
