using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace ModelGen.Analyzers.Tests.Infrastructure
{
    /// <summary>
    /// An analyzer test over ModelGen sources, with the generator running as it does in a build: the generator reports the parser's
    /// diagnostics (MG01xx), the analyzer the spec checks, and markup expects both. Generated sources are not compared here (the
    /// generator tests snapshot them); every compiler error still fails the test.
    /// </summary>
    internal sealed class AnalyzerTest<TAnalyzer> : CSharpAnalyzerTest<TAnalyzer, DefaultVerifier>
        where TAnalyzer : DiagnosticAnalyzer, new()
    {
        public AnalyzerTest(string source)
        {
            TestCode = Sources.Usings + source;
            ReferenceAssemblies = TestReferences.None;
            TestState.AdditionalReferences.AddRange(TestReferences.All);
            TestBehaviors |= TestBehaviors.SkipGeneratedSourcesCheck;
        }

        /// <inheritdoc />
        protected override System.Collections.Generic.IEnumerable<System.Type> GetSourceGenerators() => new[] { typeof(ModelGen.Generators.ModelGenGenerator) };

        /// <inheritdoc />
        protected override bool IsCompilerDiagnosticIncluded(Diagnostic diagnostic, CompilerDiagnostics compilerDiagnostics) =>
            !Sources.IsFilledInByTheGenerator(diagnostic) && base.IsCompilerDiagnosticIncluded(diagnostic, compilerDiagnostics);
    }
}
