using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace ModelGen.Analyzers.Tests.Infrastructure
{
    /// <summary>
    /// An analyzer test over ModelGen sources. The generator does not run here, so two compiler errors are expected and
    /// ignored (<see cref="Sources.IsFilledInByTheGenerator"/>); every other compiler error still fails the test.
    /// </summary>
    internal sealed class AnalyzerTest<TAnalyzer> : CSharpAnalyzerTest<TAnalyzer, DefaultVerifier>
        where TAnalyzer : DiagnosticAnalyzer, new()
    {
        public AnalyzerTest(string source)
        {
            TestCode = Sources.Usings + source;
            ReferenceAssemblies = TestReferences.None;
            TestState.AdditionalReferences.AddRange(TestReferences.All);
        }

        /// <inheritdoc />
        protected override bool IsCompilerDiagnosticIncluded(Diagnostic diagnostic, CompilerDiagnostics compilerDiagnostics) =>
            !Sources.IsFilledInByTheGenerator(diagnostic) && base.IsCompilerDiagnosticIncluded(diagnostic, compilerDiagnostics);
    }
}
