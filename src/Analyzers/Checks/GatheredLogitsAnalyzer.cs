using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using ModelGen.Diagnostics;
using ModelGen.Memory;
using ModelGen.Parsing;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Checks
{
    /// <summary>
    /// The loss of a vocab-parallel head (docs/tensor-parallel.md, "The loss of a vocab-parallel head"): MG0220 on a call of a
    /// generated <c>CreateTraining</c> that passes a loss for a model whose plan splits the vocabulary without
    /// <c>GatheredLogits</c> (the call is refused at start-up; the message says what gathering would add, from the memory model), and
    /// MG0221 on a plan whose <c>GatheredLogits</c> has nothing to gather.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class GatheredLogitsAnalyzer : DiagnosticAnalyzer
    {
        private const string Factory = "CreateTraining";
        private const string LossParameter = "loss";

        private static readonly ImmutableArray<DiagnosticDescriptor> Supported =
            ImmutableArray.Create(Descriptors.GatheredLogitsNotPlanned, Descriptors.GatheredLogitsWithoutVocabShards);

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
                var plan = start.Compilation.GetTypeByMetadataName(PlanParser.ParallelPlanAttribute);
                if (model is null || plan is null)
                    return; // the runtime is not referenced
                start.RegisterOperationAction(c => AnalyzeCall(c, model, plan), OperationKind.Invocation);
                start.RegisterSymbolAction(c => AnalyzePlan(c, model, plan), SymbolKind.NamedType);
            });
        }

        private static void AnalyzeCall(OperationAnalysisContext context, INamedTypeSymbol modelAttribute, INamedTypeSymbol planAttribute)
        {
            var call = (IInvocationOperation)context.Operation;
            var method = call.TargetMethod;
            if (method.Name != Factory || !method.IsStatic || method.ContainingType is not { } type
                || !SymbolLocations.HasAttribute(type, modelAttribute, null) || !SymbolLocations.HasAttribute(type, planAttribute, null))
                return;
            var loss = call.Arguments.FirstOrDefault(a => a.Parameter?.Name == LossParameter && a.ArgumentKind == ArgumentKind.Explicit);
            // Leaving the loss out, or passing null, trains on the vocab-parallel cross-entropy; a value that may be null is decided
            // at run time (refused there if it is not null).
            if (loss is null || !CertainlyGiven(loss.Value, context.CancellationToken))
                return;
            var plan = PlanParser.Find(type)!;
            var planned = Planned(plan);
            var degree = planned.TensorParallel;
            if (degree <= 1 || planned.GatheredLogits)
                return;
            var cancellationToken = context.CancellationToken;
            var model = ModelSpecBuilder.Build(type, context.Compilation, new List<DiagnosticInfo>(), cancellationToken);
            if (model is null)
                return; // LayerAnalyzer reports why the model does not parse
            var vocabulary = GatheredLogits.Vocabulary(model.Root);
            if (vocabulary == 0)
                return; // the model's head gathers its logits anyway: nothing the estimate misses
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.GatheredLogitsNotPlanned, loss.Syntax.GetLocation(),
                type.Name, degree, vocabulary, Added(type, plan, model, vocabulary, cancellationToken)));
        }

        /// <summary>
        /// True when the argument is surely a loss: a lambda or method group, or an expression whose nullable flow state is not-null
        /// (in code without nullable annotations, only the first).
        /// </summary>
        private static bool CertainlyGiven(IOperation value, CancellationToken cancellationToken)
        {
            var inner = value;
            while (inner is IConversionOperation conversion)
                inner = conversion.Operand;
            if (inner is IDelegateCreationOperation or IAnonymousFunctionOperation)
                return true;
            if (inner.ConstantValue is { HasValue: true, Value: null } || inner is IDefaultValueOperation)
                return false;
            var flow = value.SemanticModel?.GetTypeInfo(inner.Syntax, cancellationToken).Nullability.FlowState;
            return flow == NullableFlowState.NotNull;
        }

        /// <summary>
        /// What gathering adds per rank at the first training <c>[VramBudget]</c>'s scenario, from the memory model; the shape of it
        /// when the model has no training budget to size it (or a scenario the memory model rejects, which the budget analyzer reports).
        /// </summary>
        private static string Added(INamedTypeSymbol type, AttributeData plan, ModelSpec model, long vocabulary, CancellationToken cancellationToken)
        {
            var fallback = string.Format(CultureInfo.InvariantCulture,
                "batch × sequence × {0} logits per rank and their loss's tensors (no training [VramBudget] to size it)", vocabulary);
            foreach (var scenario in LayerParser.ReadBudgets(type).Select(b => PlanParser.Apply(plan, b)).Where(s => s.Workload == Workload.Training))
            {
                cancellationToken.ThrowIfCancellationRequested();
                try
                {
                    var bytes = GatheredLogits.ExtraBytes(model, scenario);
                    return string.Format(CultureInfo.InvariantCulture, "{0} per rank at the [VramBudget] scenario (batch {1}, sequence {2})",
                        Gigabytes.Format(bytes), scenario.Batch, scenario.SequenceLength);
                }
                catch (System.ArgumentException)
                {
                    return fallback;
                }
                catch (System.OverflowException)
                {
                    return fallback;
                }
            }
            return fallback;
        }

        /// <summary>The plan's settings, read as the budgets read them (a training scenario gets every setting).</summary>
        private static ScenarioSpec Planned(AttributeData plan) =>
            PlanParser.Apply(plan, new ScenarioSpec(0, Workload.Training, 1, 1, Optimizer.AdamW));

        private static void AnalyzePlan(SymbolAnalysisContext context, INamedTypeSymbol modelAttribute, INamedTypeSymbol planAttribute)
        {
            if (context.Symbol is not INamedTypeSymbol type || !SymbolLocations.HasAttribute(type, modelAttribute, null)
                || !SymbolLocations.HasAttribute(type, planAttribute, null))
                return;
            var plan = PlanParser.Find(type);
            if (plan is null || !Planned(plan).GatheredLogits)
                return;
            var cancellationToken = context.CancellationToken;
            var degree = Planned(plan).TensorParallel;
            string reason;
            if (degree <= 1)
            {
                reason = "the plan runs TensorParallel = 1, so no rank splits the vocabulary";
            }
            else
            {
                var model = ModelSpecBuilder.Build(type, context.Compilation, new List<DiagnosticInfo>(), cancellationToken);
                if (model is null || GatheredLogits.ShardsVocabulary(model.Root))
                    return;
                reason = $"the head of '{type.Name}' is not vocab-parallel (a column-sharded head Linear, or one tied to a vocab-sharded embedding)";
            }
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.GatheredLogitsWithoutVocabShards,
                SymbolLocations.OfAttribute(plan, cancellationToken) ?? type.Locations.FirstOrDefault() ?? Location.None, type.Name, reason));
        }
    }
}
