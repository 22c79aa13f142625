using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using ModelGen.Analyzers.Budgets;
using ModelGen.Analyzers.Checks;
using ModelGen.Diagnostics;
using ModelGen.Memory;
using ModelGen.Parsing;
using ModelGen.Specs;

namespace ModelGen.Analyzers
{
    /// <summary>
    /// Checks every <c>[VramBudget]</c> of every <c>[Model]</c> with the memory model. The model's spec comes from the one parser
    /// (<see cref="ModelSpecBuilder"/>, as the generator builds it); structural problems are left to <see cref="LayerAnalyzer"/>.
    /// Per budget, on the attribute: the scenario checks (MG0116, MG02xx), the size (MG0114, MG0115), then
    /// <see cref="BudgetEvaluator"/>'s MG0001–MG0005. Optional diagnostics that are switched off are not computed.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class BudgetAnalyzer : DiagnosticAnalyzer
    {
        private static readonly ImmutableArray<DiagnosticDescriptor> Supported = ImmutableArray.Create(
            Descriptors.BudgetExceeded, Descriptors.BudgetFits, Descriptors.BudgetRemedies, Descriptors.FittingCards, Descriptors.NoSingleRemedy,
            Descriptors.BudgetWithoutSize, Descriptors.UnknownGpu, Descriptors.BadScenario, Descriptors.InferenceWithTrainingSetting,
            Descriptors.ShardNotDivisible, Descriptors.BadParallelDegree, Descriptors.BadZeroStage, Descriptors.ZeroWithoutDataParallel,
            Descriptors.TensorParallelWithoutShards, Descriptors.BudgetContradictsPlan, Descriptors.NonFiniteBudget, Descriptors.SizeOverflow,
            Descriptors.ShardedTypeCannotHold, Descriptors.SequenceParallelUnsupported, Descriptors.SequenceBeyondPositions,
            Descriptors.SequenceShardsUneven, Descriptors.SequenceParallelDecoding, Descriptors.QuantizedSliceUneven, Descriptors.AdaptedSliceUnsupported);

        private static readonly string KnownCards = string.Join(", ", GpuCatalog.All.Select(g => g.Name));

        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => Supported;

        /// <inheritdoc />
        public override void Initialize(AnalysisContext context)
        {
            context.EnableConcurrentExecution();
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.RegisterCompilationStartAction(static start =>
            {
                var model = start.Compilation.GetTypeByMetadataName(KnownNames.ModelAttribute);
                var budget = start.Compilation.GetTypeByMetadataName(KnownNames.VramBudgetAttribute);
                if (model is null || budget is null)
                    return; // the runtime is not referenced: nothing to check
                var quantized = start.Compilation.GetTypeByMetadataName(QuantizedLinearName);
                start.RegisterSymbolAction(symbolContext =>
                {
                    if (symbolContext.Symbol is INamedTypeSymbol type && SymbolLocations.HasAttribute(type, model, null))
                        Analyze(symbolContext, type, budget, quantized);
                }, SymbolKind.NamedType);
            });
        }

        private const string QuantizedLinearName = "ModelGen.Quantization.QuantizedLinear";

        private static void Analyze(SymbolAnalysisContext context, INamedTypeSymbol type, INamedTypeSymbol budgetAttribute, INamedTypeSymbol? quantized)
        {
            var attributes = type.GetAttributes()
                .Where(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, budgetAttribute) && a.ApplicationSyntaxReference is not null)
                .ToList();
            if (attributes.Count == 0)
                return;
            var cancellationToken = context.CancellationToken;
            var model = ModelSpecBuilder.Build(type, context.Compilation, new List<DiagnosticInfo>(), cancellationToken);
            if (model is null)
                return; // LayerAnalyzer reports why

            var plan = PlanParser.Find(type);
            foreach (var attribute in attributes)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var location = attribute.ApplicationSyntaxReference!.GetSyntax(cancellationToken).GetLocation();
                var tree = location.SourceTree!;
                if (PlanParser.Conflicts(plan, attribute) is { Count: > 0 } conflicts)
                {
                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.BudgetContradictsPlan, location, type.Name, string.Join(", ", conflicts)));
                    continue; // estimating it would report memory for a program that does not exist
                }
                var declared = PlanParser.Apply(plan, LayerParser.ReadBudget(attribute));
                var named = new List<string>(attribute.NamedArguments.Length);
                foreach (var argument in attribute.NamedArguments)
                    named.Add(argument.Key);
                var findings = SpecChecks.CheckScenario(type.Name, declared).Concat(SpecChecks.CheckInferenceSettings(type.Name, declared, named)).ToList();
                if (Report(context, location, findings))
                    continue;

                var project = ProjectBudget.Read(context.Options.AnalyzerConfigOptionsProvider, tree);
                var (resolved, problems) = BudgetResolver.Resolve(type.Name, declared, project, name => GpuCatalog.Find(name)?.UsableGigabytes, KnownCards);
                if (Report(context, location, problems) || resolved is null)
                    continue;
                var scenario = resolved.Scenario with { Gpu = resolved.Scenario.Gpu is { } gpu ? GpuCatalog.Find(gpu)?.Name ?? gpu : null };
                if (Report(context, location, SpecChecks.CheckSharding(model, scenario))
                    || Report(context, location, SpecChecks.CheckPositions(model, scenario)))
                    continue;

                var reports = Reports(context.Compilation, tree, cancellationToken);
                IReadOnlyList<BudgetFinding> results;
                try
                {
                    results = BudgetEvaluator.Evaluate(model, scenario, reports, remedy => AppliesByAttributes(remedy, model, context.Compilation, quantized)
                        && (remedy.Kind != RemedyKind.TensorParallel || SplitsEvenly(model, scenario with { TensorParallel = remedy.Degree }))
                        && (plan is null || RunsFromThePlan(remedy)));
                }
                catch (ArgumentException)
                {
                    continue; // a size the memory model rejects; the spec checks of LayerAnalyzer report it at its block
                }
                catch (ModelTooLargeException tooLarge)
                {
                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.SizeOverflow, location, type.Name, tooLarge.Message));
                    continue;
                }
                catch (OverflowException)
                {
                    // Checked 64-bit arithmetic: sizes whose bytes do not fit are an error, never a wrapped (negative) number.
                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.SizeOverflow, location, type.Name,
                        $"the memory of this scenario (seq {scenario.SequenceLength}, batch {scenario.Batch}) overflows 64-bit arithmetic"));
                    continue;
                }
                foreach (var result in results)
                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.ById(result.Id), location, result.Properties, result.Arguments.Cast<object>().ToArray()));
            }
        }

        /// <summary>
        /// With a [ParallelPlan] the code fix writes the remedy on the plan, so it must be a plan the generated <c>CreateTraining</c>
        /// runs. ZeRO stage 3 runs (generated layers route through the ZeRO-3 engine, docs/distributed.md), and a tensor-parallel
        /// degree runs when every sharded block splits at it (SplitsEvenly: no MG0201, MG0208, MG0209; docs/tensor-parallel.md), so
        /// every remedy kind may go on the plan.
        /// </summary>
        private static bool RunsFromThePlan(Remedy remedy) => remedy is not null;

        /// <summary>
        /// True when the generated tensor-parallel modules can split every sharded block at the scenario's degree (no MG0201):
        /// a degree the code fix writes must build and run.
        /// </summary>
        private static bool SplitsEvenly(ModelSpec model, ScenarioSpec scenario) =>
            SpecChecks.CheckSharding(model, scenario).All(f => Descriptors.ById(f.Id).DefaultSeverity != DiagnosticSeverity.Error);

        /// <summary>Reports <paramref name="findings"/>; true when one of them is an error, so the budget cannot be evaluated.</summary>
        private static bool Report(SymbolAnalysisContext context, Location location, IReadOnlyList<SpecFinding> findings)
        {
            var error = false;
            foreach (var finding in findings)
            {
                var descriptor = Descriptors.ById(finding.Id);
                error |= descriptor.DefaultSeverity == DiagnosticSeverity.Error;
                context.ReportDiagnostic(Diagnostic.Create(descriptor, location, finding.Arguments.Cast<object>().ToArray()));
            }
            return error;
        }

        private static BudgetReports Reports(Compilation compilation, SyntaxTree tree, CancellationToken cancellationToken)
        {
            var reports = BudgetReports.None;
            if (DiagnosticOptions.IsEnabled(compilation, Descriptors.BudgetFits, tree, cancellationToken))
                reports |= BudgetReports.Fits;
            if (DiagnosticOptions.IsEnabled(compilation, Descriptors.BudgetRemedies, tree, cancellationToken)
                || DiagnosticOptions.IsEnabled(compilation, Descriptors.NoSingleRemedy, tree, cancellationToken)
                || DiagnosticOptions.IsEnabled(compilation, Descriptors.BudgetExceeded, tree, cancellationToken))
                reports |= BudgetReports.Remedies; // MG0001 carries the cheapest remedy for its code fix
            if (DiagnosticOptions.IsEnabled(compilation, Descriptors.FittingCards, tree, cancellationToken))
                reports |= BudgetReports.Cards;
            return reports;
        }

        /// <summary>
        /// Whether the code fix can apply <paramref name="remedy"/> by editing attributes alone: the class or property it edits is
        /// in source, and every Linear it would quantize is declared with a type a QuantizedLinear can be assigned to.
        /// </summary>
        private static bool AppliesByAttributes(Remedy remedy, ModelSpec model, Compilation compilation, INamedTypeSymbol? quantized)
        {
            if (remedy.TargetLayer is null)
                return true; // edits the [VramBudget] itself
            var layer = new[] { model.Root }.Concat(model.Layers).FirstOrDefault(l => l.Name == remedy.TargetLayer);
            var type = layer is null ? null : compilation.GetTypeByMetadataName(BudgetEvaluator.MetadataName(layer));
            if (type is null || type.DeclaringSyntaxReferences.Length == 0)
                return false;
            if (remedy.Kind is not (RemedyKind.QuantizeInt8 or RemedyKind.QuantizeNF4 or RemedyKind.QLora))
                return true;
            if (quantized is null)
                return false;
            foreach (var block in layer!.Blocks.OfType<LinearSpec>().Where(b => b.Quant is null && b.TiedTo is null))
            {
                var property = type.GetMembers(block.Name).OfType<IPropertySymbol>().FirstOrDefault();
                if (property is null || !compilation.ClassifyCommonConversion(quantized, property.Type).IsImplicit)
                    return false;
            }
            return true;
        }
    }
}
