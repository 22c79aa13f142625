using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace ModelGen.Parsing
{
    /// <summary>Whether a class can become a generated module: partial, a class, top-level, not generic or static, no base or constructor of its own.</summary>
    internal static class ClassShape
    {
        /// <summary>True when every declaration of <paramref name="type"/> says <c>partial</c>.</summary>
        public static bool IsPartial(INamedTypeSymbol type) =>
            type.DeclaringSyntaxReferences.Length > 0
            && type.DeclaringSyntaxReferences.All(r => r.GetSyntax() is TypeDeclarationSyntax t && t.Modifiers.Any(SyntaxKind.PartialKeyword));

        /// <summary>Why <paramref name="type"/> cannot be a generated module (it is partial), or null when it can.</summary>
        public static string? Problem(INamedTypeSymbol type)
        {
            if (type.IsRecord)
                return "a record cannot be a module; declare it as a class";
            if (type.TypeKind != TypeKind.Class)
                return $"a {(type.TypeKind == TypeKind.Struct ? "struct" : type.TypeKind.ToString().ToLowerInvariant())} cannot be a module; declare it as a class";
            if (type.ContainingType is not null)
                return "nested classes are not supported; declare it at namespace level";
            if (type.IsGenericType)
                return "generic classes are not supported";
            if (type.IsStatic)
                return "a static class cannot be a module";
            if (type.IsAbstract)
                return "an abstract class cannot be a module; the generated constructor must be callable";
            if (type.BaseType is { SpecialType: not SpecialType.System_Object } baseType && !IsTensorModule(baseType) && !IsGeneratedModuleBase(type, baseType))
                return $"it derives from '{baseType.ToDisplayString()}'; the generator makes it a Module<Tensor, Tensor>";
            if (type.InstanceConstructors.Any(c => !c.IsImplicitlyDeclared && !c.DeclaringSyntaxReferences.All(r => IsGenerated(r.SyntaxTree))))
                return "it declares a constructor; the generator writes the constructor from the config";
            return null;
        }

        /// <summary>
        /// Why <paramref name="type"/> cannot carry a generated module (constructor, forward, descriptions), or null when it can:
        /// its shape (<see cref="Problem"/>), a class named like a generated member, or a member named <c>forward</c> that is not a
        /// method (the module base demands a <c>forward</c> method).
        /// </summary>
        public static string? ModuleProblem(INamedTypeSymbol type) =>
            Problem(type)
            ?? (LayerParser.GeneratedMembers.Contains(type.Name) ? $"its name '{type.Name}' is that of a member ModelGen generates; rename the class" : null)
            ?? (type.GetMembers("forward").Any(m => m is not IMethodSymbol && !m.IsImplicitlyDeclared && m.DeclaringSyntaxReferences.Any(r => !IsGenerated(r.SyntaxTree)))
                ? "it declares a member named 'forward' that is not a method; the module's forward method needs the name" : null);

        /// <summary><c>Module&lt;Tensor, Tensor&gt;</c>, the base the generated part declares.</summary>
        private static bool IsTensorModule(INamedTypeSymbol type) =>
            type.ConstructedFrom.ToDisplayString() == "TorchSharp.torch.nn.Module<T, TResult>"
            && type.TypeArguments.All(a => a.ToDisplayString() == "TorchSharp.torch.Tensor");

        /// <summary>
        /// The base the generated part declares for a forward with several inputs or a tuple or record result
        /// (<c>Module&lt;Tensor, Tensor, Tensor&gt;</c>, <c>Module&lt;Tensor, (Tensor, Tensor)&gt;</c>): the analyzers see the compilation after
        /// generation, where such a base must not read as the user's. It is the generator's when it is one of TorchSharp's
        /// <c>Module&lt;…&gt;</c> types and no declaration the user wrote names a base of that name.
        /// </summary>
        private static bool IsGeneratedModuleBase(INamedTypeSymbol type, INamedTypeSymbol baseType) =>
            baseType.IsGenericType
            && baseType.ConstructedFrom.ContainingType?.ToDisplayString() == "TorchSharp.torch.nn"
            && baseType.Name == "Module"
            && type.DeclaringSyntaxReferences.All(r => IsGenerated(r.SyntaxTree)
                || r.GetSyntax() is not TypeDeclarationSyntax { BaseList: { } bases }
                || !bases.Types.Any(b => NamesModule(b.Type)));

        private static bool NamesModule(TypeSyntax type) => type switch
        {
            QualifiedNameSyntax qualified => NamesModule(qualified.Right),
            AliasQualifiedNameSyntax alias => NamesModule(alias.Name),
            SimpleNameSyntax simple => simple.Identifier.ValueText == "Module",
            _ => false,
        };

        /// <summary>
        /// True for a tree the generator wrote: the analyzers parse the compilation after generation, where the generated
        /// constructor must not count as the user's (generated files end in <c>.g.cs</c> and open with <c>// &lt;auto-generated/&gt;</c>).
        /// </summary>
        public static bool IsGenerated(SyntaxTree tree) =>
            tree.FilePath.EndsWith(".g.cs", System.StringComparison.OrdinalIgnoreCase)
            || tree.GetRoot().GetLeadingTrivia().Any(t => t.IsKind(SyntaxKind.SingleLineCommentTrivia) && t.ToString().Contains("<auto-generated"));
    }
}
