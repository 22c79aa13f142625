using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using ModelGen.Analyzers.Tests.Infrastructure;
using ModelGen.Analyzers.Tests.Mistakes;
using ModelGen.Generators;
using ModelGen.Parsing;

namespace ModelGen.Analyzers.Tests
{
    /// <summary>
    /// The analyzers read the parse the generator made (<see cref="GeneratorInput"/>): only for a compilation that is the generator's
    /// input plus generated files, and with exactly the diagnostics a parse of the analyzed compilation gives.
    /// </summary>
    public sealed class GeneratorInputTests
    {
        private static readonly CSharpParseOptions Parse = new(LanguageVersion.Latest);

        private static readonly CSharpCompilationOptions Options =
            new(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, warningLevel: 9999);

        public static IEnumerable<object[]> Sources() =>
            MistakeFile.All().Select(m => new object[] { m.Group + "/" + m.Name })
                .Concat(new[] { new object[] { "llama" }, new object[] { "tiny" } });

        [Fact]
        public async Task The_analyzers_in_a_build_are_given_the_generators_input()
        {
            var input = Compile(Infrastructure.Sources.Usings + TinySource.Model("[VramBudget(8, SequenceLength = 2048)]"));
            var output = Generate(input);
            var probe = new InputProbe();
            await output.WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(probe, new BudgetAnalyzer())).GetAnalyzerDiagnosticsAsync();
            Assert.Same(input, GeneratorInput.InputOf(output));
            Assert.NotEmpty(probe.Seen);
            Assert.All(probe.Seen, seen => Assert.Same(input, seen));
        }

        [Theory]
        [MemberData(nameof(Sources))]
        public async Task The_diagnostics_are_those_of_a_parse_of_the_analyzed_compilation(string name)
        {
            var input = Compile(SourceOf(name));
            var output = Generate(input);
            // A class the generator writes nothing for (not partial, no partial member) leaves the compilation as it was.
            if (output.SyntaxTrees.Count() > 1)
                Assert.Same(input, GeneratorInput.InputOf(output));
            else
                Assert.Null(GeneratorInput.InputOf(output));
            // The same files, parsed again and with the generated ones moved: nothing links this compilation to a generator run.
            var fresh = CSharpCompilation.Create("Consumer", output.SyntaxTrees.Select(t => CSharpSyntaxTree.ParseText(t.GetText(), Parse,
                t == input.SyntaxTrees.First() ? t.FilePath : "Elsewhere/" + System.IO.Path.GetFileName(t.FilePath))), TestReferences.All, Options);
            Assert.Null(GeneratorInput.InputOf(fresh));

            var shared = await Analyze(output);
            var own = await Analyze(fresh);
            Assert.Equal(own, shared);
        }

        [Fact]
        public void A_user_file_after_the_generated_ones_is_not_a_generator_output()
        {
            var input = Compile(Infrastructure.Sources.Usings + TinySource.Model("[VramBudget(8, SequenceLength = 2048)]"));
            var output = Generate(input);
            var added = output.AddSyntaxTrees(CSharpSyntaxTree.ParseText("class Added { }", Parse, "Added.cs"));
            Assert.Null(GeneratorInput.InputOf(added));
        }

        [Fact]
        public void Other_references_or_options_or_an_edited_file_are_another_compilation()
        {
            var input = Compile(Infrastructure.Sources.Usings + TinySource.Model("[VramBudget(8, SequenceLength = 2048)]"));
            var output = Generate(input);
            Assert.Null(GeneratorInput.InputOf(output.RemoveReferences(output.References.Last())));
            Assert.Null(GeneratorInput.InputOf(output.WithOptions(Options.WithNullableContextOptions(NullableContextOptions.Disable))));
            var first = output.SyntaxTrees.First();
            Assert.Null(GeneratorInput.InputOf(output.ReplaceSyntaxTree(first, CSharpSyntaxTree.ParseText(first.GetText(), Parse, first.FilePath))));
            Assert.Null(GeneratorInput.InputOf(input));
        }

        [Theory]
        [InlineData("/obj/generated", "/obj/generated", true)]
        [InlineData(@"C:\obj\generated", @"C:\obj\generated", true)]
        [InlineData("/obj/generated", "/obj/elsewhere", false)]
        [InlineData("", "", true)]
        public void Generated_files_lie_in_the_compilers_layout(string modelGenRoot, string otherRoot, bool found)
        {
            var input = Compile("class User { }");
            GeneratorInput.Record(input);
            var separator = modelGenRoot.Contains('\\') ? "\\" : "/";
            string At(string root, string generator, string file) =>
                (root.Length == 0 ? "" : root + separator) + generator.Substring(0, generator.LastIndexOf('.')) + separator + generator + separator + file;
            var analyzed = input.AddSyntaxTrees(
                CSharpSyntaxTree.ParseText("class A { }", Parse, At(modelGenRoot, "ModelGen.Generators.ModelGenGenerator", "A.g.cs")),
                CSharpSyntaxTree.ParseText("class B { }", Parse, At(otherRoot, "Other.Generators.OtherGenerator", "B.g.cs")));
            Assert.Equal(found, ReferenceEquals(input, GeneratorInput.InputOf(analyzed)));
            // Without one of ModelGen's files, nothing says the generator ran on this compilation.
            Assert.Null(GeneratorInput.InputOf(input.AddSyntaxTrees(
                CSharpSyntaxTree.ParseText("class B { }", Parse, At(otherRoot, "Other.Generators.OtherGenerator", "B.g.cs")))));
        }

        private static string SourceOf(string name)
        {
            switch (name)
            {
                case "llama":
                    return Infrastructure.Sources.Usings + LlamaSource.Model("[VramBudget(24, SequenceLength = 8192)] [VramBudget(80, SequenceLength = 4096, Workload = Workload.Inference)]");
                case "tiny":
                    return Infrastructure.Sources.Usings + TinySource.Model("[VramBudget(8, SequenceLength = 2048)]");
                default:
                    var group = name.Substring(0, name.IndexOf('/'));
                    return MistakeFile.Load(group, System.IO.Path.Combine(MistakeFile.Folder, name + ".cs")).Text;
            }
        }

        private static CSharpCompilation Compile(string source) =>
            CSharpCompilation.Create("Consumer", new[] { CSharpSyntaxTree.ParseText(source, Parse, path: "Model.cs") }, TestReferences.All, Options);

        private static Compilation Generate(Compilation input)
        {
            CSharpGeneratorDriver.Create(new[] { new ModelGenGenerator().AsSourceGenerator() }, parseOptions: Parse)
                .RunGeneratorsAndUpdateCompilation(input, out var output, out _);
            return output;
        }

        // Every analyzer diagnostic with its place, message and properties, in a fixed order; every optional one switched on.
        private static async Task<IReadOnlyList<string>> Analyze(Compilation compilation)
        {
            var analyzers = ImmutableArray.Create<DiagnosticAnalyzer>(new LayerAnalyzer(), new BudgetAnalyzer(),
                new Analyzers.ForwardAnalysis.ForwardAnalyzer(), new Analyzers.Checks.GatheredLogitsAnalyzer());
            var all = analyzers.SelectMany(a => a.SupportedDiagnostics).Select(d => d.Id).Distinct()
                .Select(id => new KeyValuePair<string, ReportDiagnostic>(id, ReportDiagnostic.Warn));
            var options = compilation.Options.WithSpecificDiagnosticOptions(all);
            var diagnostics = await compilation.WithOptions(options).WithAnalyzers(analyzers).GetAnalyzerDiagnosticsAsync();
            return diagnostics
                .Select(d => $"{d} [{string.Join(", ", d.Properties.OrderBy(p => p.Key, System.StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value))}]")
                .OrderBy(s => s, System.StringComparer.Ordinal).ToList();
        }

        /// <summary>Records, for each class it is shown, the generator input found for the compilation the analyzers are given.</summary>
#pragma warning disable RS1001, RS1025, RS1026, RS1036, RS1038, RS1041, RS2008 // a test probe, never shipped
        [DiagnosticAnalyzer(LanguageNames.CSharp)]
        private sealed class InputProbe : DiagnosticAnalyzer
        {
            private static readonly DiagnosticDescriptor Never = new("TEST0001", "t", "t", "t", DiagnosticSeverity.Hidden, true);

            public System.Collections.Concurrent.ConcurrentBag<Compilation?> Seen { get; } = new();

            public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Never);

            public override void Initialize(AnalysisContext context)
            {
                context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
                context.RegisterSymbolAction(c => Seen.Add(GeneratorInput.InputOf(c.Compilation)), SymbolKind.NamedType);
            }
        }
#pragma warning restore RS1001, RS1025, RS1026, RS1036, RS1038, RS1041, RS2008
    }
}
