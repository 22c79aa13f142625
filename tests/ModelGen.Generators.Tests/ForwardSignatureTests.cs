using System.Collections.Generic;
using System.Linq;
using ModelGen.Specs;
using Microsoft.CodeAnalysis;

namespace ModelGen.Generators.Tests;

/// <summary>
/// Forward signatures other than <c>Tensor Forward(Tensor)</c> (docs/attributes.md, "Forward"): snapshots of the generated module
/// type and forward, a compile check under nullable with warnings as errors, the parsed spec, and each MG0128–MG0134 case.
/// </summary>
public class ForwardSignatureTests
{
    private const string Encoder = """

        [Layer(typeof(Cfg)), Checkpoint]
        public partial class EncoderBlock
        {
            [LayerNorm(nameof(Cfg.Hidden))] public partial LayerNorm Norm { get; }
            [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] public partial Linear Mix { get; }
            private Tensor Forward(Tensor x, [Input(InputShape.Tokens, ElementBytes = 1)] Tensor mask)
                => x + Mix.call(Norm.call(x)) * mask.unsqueeze(-1).to_type(x.dtype);
        }

        public sealed record BertOutput(Tensor Logits, Tensor Pooled)
        {
            public Tensor? Loss { get; init; }
            public int Layers { get; init; }
        }

        [Model(typeof(Cfg))]
        public partial class Bert
        {
            [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden))] public partial Embedding Words { get; }
            [Embedding(2, nameof(Cfg.Hidden))] public partial Embedding Types { get; }
            [Stack(nameof(Cfg.Layers))] public partial ModuleList<EncoderBlock> Blocks { get; }
            [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] public partial Linear Pool { get; }
            [Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab))] public partial Linear Head { get; }

            private BertOutput Forward(Tensor ids, [Input(InputShape.Tokens)] Tensor? mask = null, [Input(InputShape.Tokens)] Tensor? tokenTypes = null)
            {
                var x = Words.call(ids) + Types.call(tokenTypes ?? zeros_like(ids));
                var m = mask ?? ones_like(ids);
                foreach (var block in Blocks)
                    x = block.call(x, m);
                return new BertOutput(Head.call(x), tanh(Pool.call(x.select(1, 0)))) { Layers = Blocks.Count };
            }
        }
        """;

    private const string Tuple = """

        [Layer(typeof(Cfg))]
        public partial class TwoHeads
        {
            [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] public partial Linear A { get; }
            [Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab))] public partial Linear B { get; }
            private (Tensor Hidden, Tensor? Logits) Forward(Tensor result, [Input(InputShape.Hidden, Width = nameof(Cfg.Hidden))] Tensor? given = null)
            {
                var h = A.call(given is null ? result : result + given);
                return (h, B.call(h));
            }
        }
        """;

    private const string Decoders = """

        [Model(typeof(Cfg))]
        public partial class MaskedDecoder
        {
            [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden))] public partial Embedding Embed { get; }
            [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads))] public partial Attention Attn { get; }
            [Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab))] public partial Linear Head { get; }
            private Tensor Forward(Tensor tokens, [Input(InputShape.Tokens)] Tensor? mask = null)
            {
                var x = Embed.call(tokens);
                if (mask is not null)
                    x = x * mask.unsqueeze(-1).to_type(x.dtype);
                return Head.call(x + Attn.call(x));
            }
        }

        [Model(typeof(Cfg))]
        public partial class TupleDecoder
        {
            [Embedding(nameof(Cfg.Vocab), nameof(Cfg.Hidden))] public partial Embedding Embed { get; }
            [Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads))] public partial Attention Attn { get; }
            [Linear(nameof(Cfg.Hidden), nameof(Cfg.Vocab))] public partial Linear Head { get; }
            private (Tensor Logits, Tensor Hidden) Forward(Tensor tokens)
            {
                var x = Embed.call(tokens);
                x = x + Attn.call(x);
                return (Head.call(x), x);
            }
        }
        """;

    public static IEnumerable<object[]> CaseNames => new[] { new object[] { "ForwardRecordMultiInput" }, new object[] { "ForwardTuple" }, new object[] { "ForwardDecoders" } };

    private static string Source(string name) => Cases.Usings + name switch { "ForwardTuple" => Tuple, "ForwardDecoders" => Decoders, _ => Encoder };

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Generated_source_matches_the_approved_snapshot(string name)
    {
        var (result, _) = GeneratorHarness.Run(Source(name));
        var generated = result.Results.Single().GeneratedSources.OrderBy(s => s.HintName, System.StringComparer.Ordinal).ToList();
        Assert.NotEmpty(generated);
        foreach (var source in generated)
            Snapshot.Match(name + "." + source.HintName.Replace(".g.cs", ""), source.SourceText.ToString());
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Generated_code_compiles_without_warnings_under_nullable(string name)
    {
        var (_, output) = GeneratorHarness.Run(Source(name));
        Assert.Empty(GeneratorHarness.Problems(output));
    }

    [Fact]
    public void Module_types_follow_the_forward()
    {
        var (_, output) = GeneratorHarness.Run(Source("ForwardRecordMultiInput"));
        Assert.Equal("TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor?, TorchSharp.torch.Tensor?, Demo.BertOutput>",
            output.GetTypeByMetadataName("Demo.Bert")!.BaseType!.ToDisplayString());
        Assert.Equal("TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>",
            output.GetTypeByMetadataName("Demo.EncoderBlock")!.BaseType!.ToDisplayString());
    }

    [Theory]
    [InlineData("Tensor Forward(Tensor x, ref Tensor y) => x;", "MG0128")]
    [InlineData("Tensor Forward(Tensor x, out Tensor y) { y = x; return x; }", "MG0128")]
    [InlineData("Tensor Forward(Tensor x, int steps) => x;", "MG0128")]
    [InlineData("Tensor Forward(params Tensor[] xs) => xs[0];", "MG0128")]
    [InlineData("Tensor Forward(Tensor a, [Input(InputShape.Tokens)] Tensor b, [Input(InputShape.Tokens)] Tensor c, [Input(InputShape.Tokens)] Tensor d, [Input(InputShape.Tokens)] Tensor e, [Input(InputShape.Tokens)] Tensor f, [Input(InputShape.Tokens)] Tensor g) => a;", "MG0129")]
    [InlineData("Tensor Forward<T>(Tensor x) => x;", "MG0130")]
    [InlineData("static Tensor Forward(Tensor x, Tensor? y) => x;", "MG0130")]
    [InlineData("System.Collections.Generic.List<Tensor> Forward(Tensor x) => new() { x };", "MG0131")]
    [InlineData("(Tensor, int) Forward(Tensor x) => (x, 1);", "MG0131")]
    [InlineData("Holder Forward(Tensor x) => new Holder(x);", "MG0131")]
    [InlineData("Tensor? Forward(Tensor x) => x;", "MG0131")]
    [InlineData("GetOnly Forward(Tensor x) => new GetOnly(x);", "MG0131")]
    [InlineData("Tensor Forward(Tensor x, Tensor y) => x; Tensor Forward(Tensor x, Tensor y, Tensor z) => x;", "MG0132")]
    [InlineData("Tensor Forward(Tensor x, [Input(InputShape.Hidden)] Tensor y) => x;", "MG0133")]
    [InlineData("Tensor Forward(Tensor x, [Input(InputShape.Tokens, ElementBytes = 3)] Tensor y) => x;", "MG0133")]
    [InlineData("Tensor Forward(Tensor x, [Input(InputShape.Hidden, Width = \"Missing\")] Tensor y) => x;", "MG0133")]
    [InlineData("Tensor Forward(Tensor x, Tensor y) => x + y;", "MG0134")]
    public void An_unsupported_forward_gets_its_diagnostic_and_no_compiler_error(string forward, string id)
    {
        var source = Cases.Usings + $$"""

            public sealed class Holder { public Holder(Tensor t) => T = t; public Tensor T { get; } }
            public sealed record GetOnly(Tensor X) { public Tensor Y => X; }

            [Layer(typeof(Cfg))]
            public partial class Odd
            {
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] public partial Linear Up { get; }
                {{forward}}
            }
            """;
        var compilation = GeneratorHarness.Compile(source);
        GeneratorHarness.CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        Assert.Contains(diagnostics, d => d.Id == id);
        // Only the user's own code may be wrong: nothing the generator wrote fails to compile.
        Assert.DoesNotContain(output.GetDiagnostics(), d => d.Severity == DiagnosticSeverity.Error && d.Location.SourceTree?.FilePath.EndsWith(".g.cs", System.StringComparison.Ordinal) == true);
    }

    [Fact]
    public void A_shell_keeps_the_module_type_of_its_forward_so_callers_compile()
    {
        // The block has an unknown config member (MG0111-family error): its shell must still be a Module<Tensor, Tensor?, Tensor>.
        var source = Cases.Usings + """

            [Layer(typeof(Cfg))]
            public partial class Broken
            {
                [Linear("Missing", nameof(Cfg.Hidden))] public partial Linear Up { get; }
                private Tensor Forward(Tensor x, [Input(InputShape.Tokens)] Tensor? mask = null) => Up.call(x);
            }

            public static class Caller
            {
                public static Tensor Run(Broken block, Tensor x, Tensor mask) => block.call(x, mask);
            }
            """;
        var compilation = GeneratorHarness.Compile(source);
        GeneratorHarness.CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        Assert.Contains(diagnostics, d => d.Severity == DiagnosticSeverity.Error && d.Id.StartsWith("MG", System.StringComparison.Ordinal));
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
    }

    [Fact]
    public void The_spec_carries_inputs_sizes_and_result_members()
    {
        var compilation = GeneratorHarness.Compile(Source("ForwardRecordMultiInput"));
        var type = compilation.GetTypeByMetadataName("Demo.Bert")!;
        var spec = ModelGen.Parsing.LayerParser.Parse(type, compilation, default).Spec!;
        Assert.Equal(new[] { "ids", "mask", "tokenTypes" }, spec.Forward.Inputs.Select(i => i.Name));
        Assert.Null(spec.Forward.Inputs[0].Size);
        Assert.Equal(new InputSize(InputShape.Tokens, Dim.Literal(0), 0), spec.Forward.Inputs[1].Size);
        Assert.True(spec.Forward.Inputs[2].Optional);
        Assert.Equal(new[] { "Logits", "Pooled", "Loss" }, spec.Forward.Result!.Members.Select(m => m.Name));
        Assert.Equal(new[] { false, false, true }, spec.Forward.Result.Members.Select(m => m.Nullable));
        Assert.False(spec.Forward.IsSingleTensor);
    }
}
