using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using ModelGen.Analyzers.Checks;
using ModelGen.Diagnostics;
using ModelGen.Parsing;

namespace ModelGen.Analyzers
{
    /// <summary>
    /// Checks each <c>[Model]</c> and <c>[Layer]</c> class on its own: when the class parses, the spec checks of
    /// <see cref="SpecChecks.CheckLayer"/>. The parser's structural diagnostics (MG01xx) are reported by the generator, which the
    /// command line never drops; only MG0101 on a class without partial members comes from here, where its code fix is.
    /// Each class is analyzed once, however many models reach it, so nothing is reported twice.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class LayerAnalyzer : DiagnosticAnalyzer
    {
        private static readonly ImmutableArray<DiagnosticDescriptor> Supported = ImmutableArray.Create(
            Descriptors.NotPartial, Descriptors.BadArgument, Descriptors.DuplicateStateName,
            Descriptors.ShardNotSupported, Descriptors.QuantizeNotSupported, Descriptors.BadGroupSize, Descriptors.GroupSizeNotDividing,
            Descriptors.DoubleQuantNotNf4, Descriptors.QuantizedParallelBlock, Descriptors.HeadsNotDivisibleByKvHeads, Descriptors.HiddenNotDivisibleByHeads,
            Descriptors.NonPositiveSize, Descriptors.RotaryOddHeadDim, Descriptors.SelectiveWithoutAttention,
            Descriptors.TopKExceedsExperts, Descriptors.ExpertCountNotPositive, Descriptors.BadCapacityFactor, Descriptors.CapacityDropsBalancedRoutes);

        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => Supported;

        /// <inheritdoc />
        public override void Initialize(AnalysisContext context)
        {
            context.EnableConcurrentExecution();
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            LayerClassActions.Register(context, Analyze);
        }

        private static void Analyze(SymbolAnalysisContext context, INamedTypeSymbol type)
        {
            var compilation = context.Compilation;
            var cancellationToken = context.CancellationToken;
            var parse = ParseCache.Parse(type, compilation, cancellationToken);
            foreach (var info in parse.Diagnostics)
            {
                if (info.Id == Descriptors.NotPartial.Id && !parse.HasPartialMembers)
                    context.ReportDiagnostic(info.ToDiagnostic(compilation));
            }
            if (parse.Spec is not { } spec)
                return;

            foreach (var finding in SpecChecks.CheckLayer(spec))
                Report(context, type, finding, cancellationToken);
            foreach (var property in type.GetMembers().OfType<IPropertySymbol>())
            {
                if (CheckpointEvery(property) is int value)
                {
                    foreach (var finding in SpecChecks.CheckCheckpointEvery(property.Name, value))
                        Report(context, type, finding, cancellationToken);
                }
            }
        }

        /// <summary>
        /// The <c>Every</c> of the property's first [Checkpoint], if it sets one. Loops rather than LINQ over the attribute's named
        /// arguments (key-value structs): each LINQ instantiation over a struct is compiled just in time in every compiler process.
        /// </summary>
        private static object? CheckpointEvery(IPropertySymbol property)
        {
            foreach (var attribute in property.GetAttributes())
            {
                if (attribute.AttributeClass?.ToDisplayString() != KnownNames.CheckpointAttribute)
                    continue;
                foreach (var argument in attribute.NamedArguments)
                {
                    if (argument.Key == "Every")
                        return argument.Value.Value;
                }
                return null;
            }
            return null;
        }

        private static void Report(SymbolAnalysisContext context, INamedTypeSymbol type, SpecFinding finding, CancellationToken cancellationToken)
        {
            var location = SymbolLocations.OfBlock(type, finding.Block, finding.Attribute, cancellationToken);
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.ById(finding.Id), location, finding.Arguments.Cast<object>().ToArray()));
        }
    }
}
