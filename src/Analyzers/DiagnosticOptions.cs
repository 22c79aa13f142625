using System.Threading;
using Microsoft.CodeAnalysis;

namespace ModelGen.Analyzers
{
    /// <summary>Whether a diagnostic is switched on for a file, so that optional diagnostics that nobody sees are not computed.</summary>
    internal static class DiagnosticOptions
    {
        /// <summary>
        /// The effective setting of <paramref name="descriptor"/> for <paramref name="tree"/>: the .editorconfig section of the file,
        /// then global analyzer config, then the compilation's options (rule sets, /nowarn), else the descriptor's default.
        /// Category-wide settings (<c>dotnet_analyzer_diagnostic.category-….severity</c>) are not seen here; set the id.
        /// </summary>
        public static bool IsEnabled(Compilation compilation, DiagnosticDescriptor descriptor, SyntaxTree tree, CancellationToken cancellationToken)
        {
            var provider = compilation.Options.SyntaxTreeOptionsProvider;
            if (provider is not null)
            {
                if (provider.TryGetDiagnosticValue(tree, descriptor.Id, cancellationToken, out var fileValue))
                    return fileValue != ReportDiagnostic.Suppress;
                if (provider.TryGetGlobalDiagnosticValue(descriptor.Id, cancellationToken, out var globalValue))
                    return globalValue != ReportDiagnostic.Suppress;
            }
            if (compilation.Options.SpecificDiagnosticOptions.TryGetValue(descriptor.Id, out var value))
                return value != ReportDiagnostic.Suppress;
            return descriptor.IsEnabledByDefault;
        }
    }
}
