using System.Threading.Tasks;
using ModelGen.Analyzers.Tests.Infrastructure;
using ModelGen.CodeFixes;

namespace ModelGen.Analyzers.Tests
{
    public sealed class MakePartialCodeFixTests
    {
        private const string Config = "public sealed record Cfg { public int Hidden { get; init; } = 64; }\n";

        [Fact]
        public Task Adds_partial_after_the_other_modifiers() =>
            new CodeFixTest<LayerAnalyzer, MakePartialCodeFix>(Config + """
                [Layer(typeof(Cfg))]
                public sealed class {|MG0101:Block|}
                {
                    Tensor Forward(Tensor x) => x;
                }
                """, Config + """
                [Layer(typeof(Cfg))]
                public sealed partial class Block
                {
                    Tensor Forward(Tensor x) => x;
                }
                """).RunAsync();

        [Fact]
        public Task Adds_partial_to_a_class_without_modifiers() =>
            new CodeFixTest<LayerAnalyzer, MakePartialCodeFix>(Config + """
                // The layer.
                [Layer(typeof(Cfg))]
                class {|MG0101:Block|}
                {
                    Tensor Forward(Tensor x) => x;
                }
                """, Config + """
                // The layer.
                [Layer(typeof(Cfg))]
                partial class Block
                {
                    Tensor Forward(Tensor x) => x;
                }
                """).RunAsync();
    }
}
