using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using ModelGen.Diagnostics;
using ModelGen.Generators.Emit;
using ModelGen.Specs;

namespace ModelGen.Parsing
{
    public static partial class LayerParser
    {
        private static readonly SymbolDisplayFormat TypeFormat = SymbolDisplayFormat.FullyQualifiedFormat
            .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

        /// <summary>What each generated member is, for MG0125.</summary>
        private static string Purpose(string member) => member switch
        {
            "StoragePrecision" => "the storage precision property",
            "CheckpointActivations" => "the checkpointing switch",
            "forward" => "the module's forward override",
            "DescribeLayer" => "the layer's memory description",
            "CollectLayers" => "the memory description of the layers it uses",
            _ => "the model's memory description",
        };

        /// <summary>Names of the members the user declared (not those of generated files), ordinal.</summary>
        private static HashSet<string> UserMemberNames(INamedTypeSymbol type)
        {
            var names = new HashSet<string>(System.StringComparer.Ordinal);
            foreach (var member in type.GetMembers())
            {
                if (!member.IsImplicitlyDeclared && member.DeclaringSyntaxReferences.Any(r => !ClassShape.IsGenerated(r.SyntaxTree)))
                    names.Add(member.Name);
            }
            return names;
        }

        /// <summary>
        /// A backing field per block: <c>_</c> + the property's exact name (so <c>Up</c> and <c>UP</c> get <c>_Up</c> and <c>_UP</c>),
        /// lengthened with <c>_</c> until no user member, generated member, earlier field or the class itself has the name.
        /// </summary>
        private static IEnumerable<string> FieldNames(List<BlockSpec> blocks, HashSet<string> userMembers, string className)
        {
            var taken = new HashSet<string>(userMembers, System.StringComparer.Ordinal) { className };
            taken.UnionWith(GeneratedMembers);
            foreach (var block in blocks)
            {
                var name = "_" + block.Name;
                while (!taken.Add(name))
                    name += "_";
                yield return name;
            }
        }

        /// <summary>
        /// The shell of a class that cannot be generated, or null when it cannot have one (a containing type that is not partial,
        /// unless <paramref name="requirePartial"/> is false, an enum or a delegate). Every member throws an
        /// <see cref="System.InvalidOperationException"/> naming the first error.
        /// </summary>
        private static ShellSpec? BuildShell(INamedTypeSymbol type, List<DiagnosticInfo> diagnostics, ShellModule? module, CancellationToken cancellationToken, bool requirePartial = true)
        {
            var declarations = new List<string>();
            for (var t = type; t is not null; t = t.ContainingType)
            {
                if ((requirePartial && !ClassShape.IsPartial(t)) || Declaration(t) is not { } declaration)
                    return null;
                declarations.Add(declaration);
            }
            declarations.Reverse();
            var properties = new List<ShellProperty>();
            foreach (var property in type.GetMembers().OfType<IPropertySymbol>())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (property.IsPartialDefinition && property.PartialImplementationPart is null && !property.IsIndexer
                    && property.ExplicitInterfaceImplementations.Length == 0 && BlockParser.IsBlock(property)
                    && ShellOf(property, cancellationToken) is { } shell)
                    properties.Add(shell);
            }
            var error = diagnostics.FirstOrDefault(d => Descriptors.ById(d.Id).DefaultSeverity == DiagnosticSeverity.Error);
            var message = error is null
                ? $"ModelGen did not generate '{type.Name}'; see the build's errors."
                : $"ModelGen did not generate '{type.Name}': {error.Id}: {Format(error)}";
            return new ShellSpec(NamespaceOf(type), declarations.ToEquatableArray(), properties.ToEquatableArray(), module, message);
        }

        /// <summary>The text of a diagnostic's message.</summary>
        internal static string Format(DiagnosticInfo info) =>
            string.Format(CultureInfo.InvariantCulture, Descriptors.ById(info.Id).MessageFormat.ToString(CultureInfo.InvariantCulture),
                info.Arguments.Cast<object>().ToArray());

        private static string? Declaration(INamedTypeSymbol type)
        {
            var keyword = type switch
            {
                { IsRecord: true, TypeKind: TypeKind.Struct } => "record struct",
                { IsRecord: true } => "record",
                { TypeKind: TypeKind.Class } => "class",
                { TypeKind: TypeKind.Struct } => type.IsRefLikeType ? "ref struct" : "struct",
                { TypeKind: TypeKind.Interface } => "interface",
                _ => null,
            };
            if (keyword is null)
                return null;
            var typeParameters = type.TypeParameters.Length == 0
                ? ""
                : "<" + string.Join(", ", type.TypeParameters.Select(p => Literals.Identifier(p.Name))) + ">";
            // `ref struct` needs `ref` on every part; other modifiers (static, sealed, abstract) may stay on the user's part.
            return keyword == "ref struct" ? "ref partial struct " + Literals.Identifier(type.Name) + typeParameters
                : "partial " + keyword + " " + Literals.Identifier(type.Name) + typeParameters;
        }

        private static ShellProperty? ShellOf(IPropertySymbol property, CancellationToken cancellationToken)
        {
            if (property.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken) is not PropertyDeclarationSyntax syntax
                || syntax.AccessorList is null)
                return null;
            var modifiers = ModifierText.Of(syntax.Modifiers, withoutPartial: true);
            var refKind = property.ReturnsByRefReadonly ? "ref readonly " : property.ReturnsByRef ? "ref " : "";
            var header = string.Join(" ", modifiers.Concat(new[] { "partial" })) + " " + refKind
                + property.Type.ToDisplayString(TypeFormat) + " " + Literals.Identifier(property.Name);
            var accessors = syntax.AccessorList.Accessors
                .Select(a => string.Join(" ", ModifierText.Of(a.Modifiers, withoutPartial: false).Concat(new[] { a.Keyword.Text })).Trim())
                .ToEquatableArray();
            return new ShellProperty(header, accessors);
        }
    }
}
