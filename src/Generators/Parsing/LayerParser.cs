using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using ModelGen.Diagnostics;
using ModelGen.Generators.Emit;
using ModelGen.Specs;

namespace ModelGen.Parsing
{
    /// <summary>
    /// The one parser: turns a <c>[Model]</c> or <c>[Layer]</c> class into a <see cref="LayerSpec"/> plus diagnostics.
    /// The generator emits from the spec (or, when the class has errors, a shell whose members throw) and reports the
    /// diagnostics; the analyzers feed the spec to the memory model.
    /// </summary>
    public static partial class LayerParser
    {
        /// <summary>Members the generated part declares; a user member of one of these names is reported (MG0125).</summary>
        public static readonly IReadOnlyList<string> GeneratedMembers = new[]
        {
            "StoragePrecision", "CheckpointActivations", "forward", "DescribeLayer", "CollectLayers", "DescribeModel",
        };

        /// <summary>Parses <paramref name="type"/>; returns a null spec when it is not a ModelGen class or cannot be generated.</summary>
        public static LayerParse Parse(INamedTypeSymbol type, Compilation compilation, CancellationToken cancellationToken)
        {
            var diagnostics = new List<DiagnosticInfo>();
            var usedLayers = new List<INamedTypeSymbol>();
            var modelAttribute = AttributeReader.Find(type, KnownNames.ModelAttribute);
            var layerAttribute = AttributeReader.Find(type, KnownNames.LayerAttribute);
            var classAttribute = modelAttribute ?? layerAttribute;
            if (classAttribute is null)
                return new LayerParse(null, diagnostics, usedLayers);

            var location = LocationInfo.From(type.Locations.FirstOrDefault());
            var hintName = HintNames.For(MetadataName(type));
            if (!ClassShape.IsPartial(type))
            {
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.NotPartial, location, type.Name));
                var hasPartialMembers = type.GetMembers().Any(m => m is IPropertySymbol { IsPartialDefinition: true } or IMethodSymbol { IsPartialDefinition: true });
                return new LayerParse(null, diagnostics, usedLayers)
                {
                    HintName = hintName,
                    HasPartialMembers = hasPartialMembers,
                    // The compiler gives CS0751 and CS9248 for every partial member of a class that is not partial; a partial part
                    // implementing them leaves a single CS0260 ("missing partial modifier") at the class name, the fix MG0101 names.
                    Shell = hasPartialMembers ? BuildShell(type, diagnostics, null, cancellationToken, requirePartial: false) : null,
                };
            }

            var failed = false;
            if (modelAttribute is not null && layerAttribute is not null)
            {
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.ModelAndLayer, location, type.Name));
                failed = true;
            }
            var shapeProblem = ClassShape.ModuleProblem(type);
            if (shapeProblem is not null)
            {
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.UnsupportedClassShape, location, type.Name, shapeProblem));
                failed = true;
            }

            var configSymbol = AttributeReader.Argument(classAttribute, 0).Value as INamedTypeSymbol;
            if (configSymbol is null || configSymbol.TypeKind == TypeKind.Error)
            {
                failed = true; // typeof(Missing): the compiler reports it
                configSymbol = null;
            }
            else if (ConfigProblem(configSymbol) is { } configProblem)
            {
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.BadConfigType, LocationInfo.From(AttributeReader.LocationOf(classAttribute)),
                    configSymbol.ToDisplayString(), type.Name, configProblem));
                failed = true;
                configSymbol = null;
            }
            var configType = configSymbol?.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) ?? "";
            var memberAccessibility = configSymbol is null ? "public" : EffectiveAccessibility(configSymbol);

            if (modelAttribute is null)
            {
                foreach (var budget in type.GetAttributes().Where(a => AttributeReader.Is(a, KnownNames.VramBudgetAttribute)))
                {
                    diagnostics.Add(DiagnosticInfo.Create(Descriptors.BudgetOnLayer, LocationInfo.From(AttributeReader.LocationOf(budget)), type.Name));
                    failed = true;
                }
            }
            var precision = ReadClassEnum<DType>(type, KnownNames.PrecisionAttribute, location, diagnostics, ref failed);
            var checkpoint = AttributeReader.Find(type, KnownNames.CheckpointAttribute) is null
                ? CheckpointMode.None
                : ReadClassEnum<CheckpointMode>(type, KnownNames.CheckpointAttribute, location, diagnostics, ref failed) ?? CheckpointMode.Full;

            var lora = ReadLora(type, location, diagnostics);

            var config = configSymbol is null ? null : new ConfigReader(configSymbol, compilation, cancellationToken);
            var blockParser = new BlockParser(compilation, type, config, configType, diagnostics, usedLayers);
            var blocks = new List<BlockSpec>();
            var blockLocations = new Dictionary<string, LocationInfo?>();
            foreach (var property in type.GetMembers().OfType<IPropertySymbol>())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!BlockParser.IsBlock(property))
                    continue;
                blockLocations[property.Name] = LocationInfo.From(AttributeReader.Find(property, KnownNames.TiedToAttribute) is { } tie
                    ? AttributeReader.LocationOf(tie) : property.Locations.FirstOrDefault());
                var block = blockParser.Parse(property);
                if (block is null)
                    failed = true;
                else
                    blocks.Add(WithBlockLora(property, block, diagnostics)); // [LoRA] on the property (LayerParser.Lora.cs)
            }
            CheckTies(blocks, name => blockLocations.TryGetValue(name, out var at) ? at ?? location : location, diagnostics);
            var compute = ReadCompute(type, precision, blocks, lora is not null, location, diagnostics, ref failed); // LayerParser.Precision.cs

            var forward = ReadForward(type, config, diagnostics, out var forwardReported);
            CheckCrossAttentionInputs(type, blocks, forward, blockLocations, diagnostics); // LayerParser.EncoderDecoder.cs
            if (forward is null && forwardReported)
                failed = true;
            else if (forward is null)
            {
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.ForwardMissing, location, type.Name));
                failed = true;
            }
            if (LayerGraph.Of(compilation).CycleThrough(type.OriginalDefinition) is { } cycle)
            {
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.RecursiveLayer, location, type.Name, cycle));
                failed = true;
            }
            var userMembers = UserMemberNames(type);
            foreach (var name in GeneratedMembers.Where(userMembers.Contains))
            {
                if (name == "forward" && type.GetMembers(name).Any(m => m is not IMethodSymbol))
                    continue; // reported as MG0108: the class cannot carry the module's forward
                var member = type.GetMembers(name).FirstOrDefault(m => !m.IsImplicitlyDeclared);
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.ReservedMemberName, LocationInfo.From(member?.Locations.FirstOrDefault()) ?? location,
                    type.Name, name, Purpose(name)));
                failed = true;
            }

            failed |= diagnostics.Any(d => Descriptors.ById(d.Id).DefaultSeverity == DiagnosticSeverity.Error);
            if (failed)
            {
                var moduleAllowed = shapeProblem is null && configSymbol is not null;
                return new LayerParse(null, diagnostics, usedLayers)
                {
                    HintName = hintName,
                    MemberAccessibility = memberAccessibility,
                    Shell = BuildShell(type, diagnostics, moduleAllowed ? new ShellModule(type.Name, configType, memberAccessibility, modelAttribute is not null,
                        GeneratedMembers.Where(name => userMembers.Contains(name) && (name != "forward" || DeclaresForwardOverride(type))).ToEquatableArray())
                        { Forward = forward is { IsSingleTensor: false } ? forward : null, TakesTensorParallel = ShardedInside(type) } : null,
                        cancellationToken),
                };
            }

            var spec = new LayerSpec(
                Namespace: NamespaceOf(type),
                Name: type.Name,
                FullName: type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                Accessibility: SyntaxFacts.GetText(type.DeclaredAccessibility),
                ConfigType: configType,
                IsModel: modelAttribute is not null,
                Blocks: blocks.ToEquatableArray(),
                Forward: forward!)
            {
                Precision = precision,
                Compute = compute,
                Checkpoint = checkpoint,
                Budgets = ReadBudgets(type).ToEquatableArray(),
                Lora = lora,
                TakesTensorParallel = ShardedInside(type),
                ShardedLayers = ShardedChildren(type).ToEquatableArray(),
            };
            spec = spec with { Body = ForwardAnalysis.ForwardBodies.Analyze(type, spec, compilation, cancellationToken)?.Body }; // docs/forward-analysis.md
            return new LayerParse(spec, diagnostics, usedLayers)
            {
                HintName = hintName,
                MemberAccessibility = memberAccessibility,
                FieldNames = FieldNames(blocks, userMembers, type.Name).ToEquatableArray(),
                AdaptersBelow = lora is null && modelAttribute is not null && AdaptersInside(type),
            };
        }

        /// <summary>Reads every <c>[VramBudget]</c> on the class, in source order, with the parallel settings of its <c>[ParallelPlan]</c>.</summary>
        public static IEnumerable<ScenarioSpec> ReadBudgets(INamedTypeSymbol type) =>
            type.GetAttributes().Where(a => AttributeReader.Is(a, KnownNames.VramBudgetAttribute))
                .Select(a => PlanParser.Apply(PlanParser.Find(type), ReadBudget(a)));

        /// <summary>Reads one <c>[VramBudget]</c>.</summary>
        public static ScenarioSpec ReadBudget(AttributeData attribute) =>
            new(
                Gigabytes: AttributeReader.Argument(attribute, 0).Value is double gb ? gb : 0,
                Workload: (Workload)AttributeReader.NamedEnum(attribute, "Workload", (int)Workload.Training),
                SequenceLength: AttributeReader.Named(attribute, "SequenceLength", 2048),
                Batch: AttributeReader.Named(attribute, "Batch", 1),
                Optimizer: (Optimizer)AttributeReader.NamedEnum(attribute, "Optimizer", (int)Optimizer.AdamW))
            {
                Gpu = AttributeReader.NamedString(attribute, "Gpu"),
                TensorParallel = AttributeReader.Named(attribute, "TensorParallel", 1),
                DataParallel = AttributeReader.Named(attribute, "DataParallel", 1),
                ZeroStage = AttributeReader.Named(attribute, "ZeroStage", 0),
                OffloadOptimizer = AttributeReader.Named(attribute, "OffloadOptimizer", false),
                OffloadParameters = AttributeReader.Named(attribute, "OffloadParameters", false),
                SequenceParallel = AttributeReader.Named(attribute, "SequenceParallel", false),
            };

        /// <summary>The metadata name with namespace, containing types (<c>+</c>) and arity (<c>`1</c>): unique per type.</summary>
        internal static string MetadataName(INamedTypeSymbol type)
        {
            var name = type.MetadataName;
            for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
                name = outer.MetadataName + "+" + name;
            var ns = NamespaceOf(type);
            return ns.Length == 0 ? name : ns + "." + name;
        }

        /// <summary>The containing namespace as unescaped names joined by dots, empty for the global namespace.</summary>
        internal static string NamespaceOf(INamedTypeSymbol type)
        {
            var parts = new List<string>();
            for (var ns = type.ContainingNamespace; ns is { IsGlobalNamespace: false }; ns = ns.ContainingNamespace)
                parts.Add(ns.Name);
            parts.Reverse();
            return string.Join(".", parts);
        }

        internal static string? ConfigProblem(INamedTypeSymbol config)
        {
            if (config.SpecialType != SpecialType.None)
                return $"'{config.ToDisplayString()}' is a built-in type; use a record or class whose integer properties are the sizes";
            if (config.TypeKind is not (TypeKind.Class or TypeKind.Struct))
                return $"it is {(config.TypeKind == TypeKind.Interface ? "an interface" : "an " + config.TypeKind.ToString().ToLowerInvariant())}; use a record or class whose integer properties are the sizes";
            if (config.IsStatic)
                return "it is a static class, which has no instances to pass to the constructor";
            if (config.IsUnboundGenericType || config.TypeArguments.Any(a => a.TypeKind == TypeKind.TypeParameter))
                return "it is an open generic type";
            return null;
        }

        /// <summary>
        /// <c>public</c> when the config type is visible everywhere, <c>internal</c> when only inside the assembly, otherwise
        /// <c>private</c>: the generated constructor must not be more visible than its parameter's type (CS0051).
        /// </summary>
        internal static string EffectiveAccessibility(INamedTypeSymbol config)
        {
            var result = "public";
            for (var type = config; type is not null; type = type.ContainingType)
            {
                switch (type.DeclaredAccessibility)
                {
                    case Accessibility.Public:
                        break;
                    case Accessibility.Internal or Accessibility.ProtectedOrInternal:
                        result = result == "private" ? result : "internal";
                        break;
                    default:
                        result = "private";
                        break;
                }
            }
            return result;
        }

        private static TEnum? ReadClassEnum<TEnum>(INamedTypeSymbol type, string attributeName, LocationInfo? location, List<DiagnosticInfo> diagnostics, ref bool failed)
            where TEnum : struct, Enum
        {
            if (AttributeReader.Find(type, attributeName) is not { } attribute || AttributeReader.Argument(attribute, 0).Value is not int value)
                return null;
            if (Enum.IsDefined(typeof(TEnum), value))
                return (TEnum)(object)value;
            diagnostics.Add(DiagnosticInfo.Create(Descriptors.BadArgument, LocationInfo.From(AttributeReader.LocationOf(attribute)) ?? location, type.Name,
                $"{value} is not a {typeof(TEnum).Name} value"));
            failed = true;
            return null;
        }

        /// <summary>True when the user wrote <c>forward(Tensor)</c> itself, so the shell must not declare it again.</summary>
        private static bool DeclaresForwardOverride(INamedTypeSymbol type) =>
            type.GetMembers("forward").OfType<IMethodSymbol>().Any(m => m.Parameters.Length == 1 && IsTensor(m.Parameters[0].Type));

        /// <summary>True for <c>Tensor</c> and <c>Tensor?</c>.</summary>
        private static bool IsTensor(ITypeSymbol type) => type.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString() == "TorchSharp.torch.Tensor";

        private static void CheckTies(List<BlockSpec> blocks, Func<string, LocationInfo?> locationOf, List<DiagnosticInfo> diagnostics)
        {
            foreach (var block in blocks.Where(b => b.TiedTo is not null))
            {
                var location = locationOf(block.Name);
                var target = blocks.FirstOrDefault(b => b.Name == block.TiedTo);
                var problem = target is null ? $"this layer has no block named '{block.TiedTo}'"
                    : ReferenceEquals(target, block) ? "a block cannot be tied to itself"
                    : WeightShape(target) is not { } targetShape || WeightShape(block) is not { } shape ? "only Linear and Embedding weights can be tied"
                    : targetShape != shape ? $"weight shapes differ ({shape.Rows}×{shape.Columns} vs {targetShape.Rows}×{targetShape.Columns})"
                    : null;
                if (problem is not null)
                {
                    diagnostics.Add(DiagnosticInfo.Create(Descriptors.BadTie, location, block.Name, block.TiedTo, problem));
                    continue;
                }
                // A quantized Linear has no float weight to share: the generated tie would not compile (and would mean nothing).
                var quantized = block.Quant is not null ? $"'{block.Name}'" : target!.Quant is not null ? $"'{target.Name}'" : null;
                if (quantized is not null)
                    diagnostics.Add(DiagnosticInfo.Create(Descriptors.QuantizedTie, location, block.Name, block.TiedTo, quantized));
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
