using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using ModelGen.Diagnostics;
using ModelGen.Specs;

namespace ModelGen.Parsing
{
    /// <summary>
    /// The one parser: turns a <c>[Model]</c> or <c>[Layer]</c> class into a <see cref="LayerSpec"/> plus diagnostics.
    /// The generator emits from the spec; the analyzers report the diagnostics and feed the spec to the memory model.
    /// </summary>
    public static class LayerParser
    {
        /// <summary>Parses <paramref name="type"/>; returns a null spec when it is not a ModelGen class or cannot be generated.</summary>
        public static LayerParse Parse(INamedTypeSymbol type, Compilation compilation, CancellationToken cancellationToken)
        {
            var diagnostics = new List<DiagnosticInfo>();
            var usedLayers = new List<INamedTypeSymbol>();
            var modelAttribute = AttributeReader.Find(type, KnownNames.ModelAttribute);
            var classAttribute = modelAttribute ?? AttributeReader.Find(type, KnownNames.LayerAttribute);
            if (classAttribute is null)
                return new LayerParse(null, diagnostics, usedLayers);

            var location = LocationInfo.From(type.Locations.FirstOrDefault());
            if (!CheckShape(type, location, diagnostics))
                return new LayerParse(null, diagnostics, usedLayers);

            var configSymbol = AttributeReader.Argument(classAttribute, 0).Value as INamedTypeSymbol;
            var configType = configSymbol?.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) ?? "";
            var config = configSymbol is null ? null : new ConfigReader(configSymbol, compilation, cancellationToken);
            var blockParser = new BlockParser(compilation, config, configType, diagnostics, usedLayers);

            var blocks = new List<BlockSpec>();
            var failed = configSymbol is null;
            foreach (var property in type.GetMembers().OfType<IPropertySymbol>())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!BlockParser.IsBlock(property))
                    continue;
                var block = blockParser.Parse(property);
                if (block is null)
                    failed = true;
                else
                    blocks.Add(block);
            }
            CheckTies(blocks, location, diagnostics);

            var forward = FindForward(type);
            if (forward is null)
            {
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.ForwardMissing, location, type.Name));
                failed = true;
            }

            if (failed || diagnostics.Any(d => Descriptors.ById(d.Id).DefaultSeverity == DiagnosticSeverity.Error))
                return new LayerParse(null, diagnostics, usedLayers);

            var spec = new LayerSpec(
                Namespace: type.ContainingNamespace.IsGlobalNamespace ? "" : type.ContainingNamespace.ToDisplayString(),
                Name: type.Name,
                FullName: type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                Accessibility: SyntaxFacts.GetText(type.DeclaredAccessibility),
                ConfigType: configType,
                IsModel: modelAttribute is not null,
                Blocks: blocks.ToEquatableArray(),
                Forward: forward!)
            {
                Precision = AttributeReader.Find(type, KnownNames.PrecisionAttribute) is { } precision
                    && AttributeReader.Argument(precision, 0).Value is int dtype ? (DType)dtype : null,
                Checkpoint = AttributeReader.Find(type, KnownNames.CheckpointAttribute) is { } checkpoint
                    ? AttributeReader.Argument(checkpoint, 0).Value is int mode ? (CheckpointMode)mode : CheckpointMode.Full
                    : CheckpointMode.None,
                Budgets = ReadBudgets(type).ToEquatableArray(),
            };
            return new LayerParse(spec, diagnostics, usedLayers);
        }

        /// <summary>Reads every <c>[VramBudget]</c> on the class, in source order.</summary>
        public static IEnumerable<ScenarioSpec> ReadBudgets(INamedTypeSymbol type) =>
            type.GetAttributes().Where(a => AttributeReader.Is(a, KnownNames.VramBudgetAttribute)).Select(ReadBudget);

        /// <summary>Reads one <c>[VramBudget]</c>.</summary>
        public static ScenarioSpec ReadBudget(AttributeData attribute) =>
            new(
                Gigabytes: AttributeReader.Argument(attribute, 0).Value is double gb ? gb : 0,
                Workload: AttributeReader.NamedEnum(attribute, "Workload", Workload.Training),
                SequenceLength: AttributeReader.Named(attribute, "SequenceLength", 2048),
                Batch: AttributeReader.Named(attribute, "Batch", 1),
                Optimizer: AttributeReader.NamedEnum(attribute, "Optimizer", Optimizer.AdamW))
            {
                Gpu = AttributeReader.NamedString(attribute, "Gpu"),
                TensorParallel = AttributeReader.Named(attribute, "TensorParallel", 1),
                DataParallel = AttributeReader.Named(attribute, "DataParallel", 1),
                ZeroStage = AttributeReader.Named(attribute, "ZeroStage", 0),
                OffloadOptimizer = AttributeReader.Named(attribute, "OffloadOptimizer", false),
                OffloadParameters = AttributeReader.Named(attribute, "OffloadParameters", false),
                SequenceParallel = AttributeReader.Named(attribute, "SequenceParallel", false),
            };

        private static bool CheckShape(INamedTypeSymbol type, LocationInfo? location, List<DiagnosticInfo> diagnostics)
        {
            var isPartial = type.DeclaringSyntaxReferences.All(r =>
                r.GetSyntax() is ClassDeclarationSyntax c && c.Modifiers.Any(m => m.IsKind(SyntaxKind.PartialKeyword)));
            if (!isPartial || type.TypeKind != TypeKind.Class)
            {
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.NotPartial, location, type.Name));
                return false;
            }
            string? problem = null;
            if (type.ContainingType is not null)
                problem = "nested classes are not supported; declare it at namespace level";
            else if (type.IsGenericType)
                problem = "generic classes are not supported";
            else if (type.IsStatic)
                problem = "a static class cannot be a module";
            else if (type.BaseType is { SpecialType: not SpecialType.System_Object } baseType
                     && baseType.ConstructedFrom.ToDisplayString() != "TorchSharp.torch.nn.Module<T, TResult>")
                problem = $"it derives from '{baseType.ToDisplayString()}'; the generator makes it a Module<Tensor, Tensor>";
            else if (type.InstanceConstructors.Any(c => !c.IsImplicitlyDeclared && !c.DeclaringSyntaxReferences.All(r => IsGenerated(r.SyntaxTree))))
                problem = "it declares a constructor; the generator writes the constructor from the config";
            if (problem is null)
                return true;
            diagnostics.Add(DiagnosticInfo.Create(Descriptors.UnsupportedClassShape, location, type.Name, problem));
            return false;
        }

        /// <summary>
        /// True for a tree the generator wrote: the analyzers parse the compilation after generation, where the generated
        /// constructor must not count as the user's (generated files end in <c>.g.cs</c> and open with <c>// &lt;auto-generated/&gt;</c>).
        /// </summary>
        private static bool IsGenerated(SyntaxTree tree) =>
            tree.FilePath.EndsWith(".g.cs", System.StringComparison.OrdinalIgnoreCase)
            || tree.GetRoot().GetLeadingTrivia().Any(t => t.IsKind(SyntaxKind.SingleLineCommentTrivia) && t.ToString().Contains("<auto-generated"));

        private static ForwardSpec? FindForward(INamedTypeSymbol type)
        {
            foreach (var method in type.GetMembers("Forward").OfType<IMethodSymbol>())
            {
                if (!method.IsStatic && method.Parameters.Length == 1
                    && IsTensor(method.ReturnType) && IsTensor(method.Parameters[0].Type))
                    return new ForwardSpec(method.Name, method.Parameters[0].Name);
            }
            return null;
        }

        private static bool IsTensor(ITypeSymbol type) => type.ToDisplayString() == "TorchSharp.torch.Tensor";

        private static void CheckTies(List<BlockSpec> blocks, LocationInfo? location, List<DiagnosticInfo> diagnostics)
        {
            foreach (var block in blocks.Where(b => b.TiedTo is not null))
            {
                var target = blocks.FirstOrDefault(b => b.Name == block.TiedTo);
                var problem = target is null ? $"this layer has no block named '{block.TiedTo}'"
                    : WeightShape(target) is not { } targetShape || WeightShape(block) is not { } shape ? "only Linear and Embedding weights can be tied"
                    : targetShape != shape ? $"weight shapes differ ({shape.Rows}×{shape.Columns} vs {targetShape.Rows}×{targetShape.Columns})"
                    : null;
                if (problem is not null)
                    diagnostics.Add(DiagnosticInfo.Create(Descriptors.BadTie, location, block.Name, block.TiedTo, problem));
            }
        }

        private static (long Rows, long Columns)? WeightShape(BlockSpec block) => block switch
        {
            LinearSpec linear => (linear.Out.Value, linear.In.Value),
            EmbeddingSpec embedding => (embedding.Count.Value, embedding.Width.Value),
            _ => null,
        };
    }
}
