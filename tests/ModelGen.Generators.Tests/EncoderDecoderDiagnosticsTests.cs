using System.Linq;
using ModelGen.Parsing;
using ModelGen.Specs;

namespace ModelGen.Generators.Tests;

/// <summary>[CrossAttention] and [RelativeAttention]: what the parser reads, and MG0556–MG0559 for bad input.</summary>
public class EncoderDecoderDiagnosticsTests
{
    private static LayerParse Parse(string body, string typeName = "Demo.Block")
    {
        var source = Cases.Usings + """
            [Layer(typeof(Cfg))]
            public partial class Block
            {
            """ + body + "\n}\n";
        var compilation = GeneratorHarness.Compile(source);
        return LayerParser.Parse(compilation.GetTypeByMetadataName(typeName)!, compilation, default);
    }

    private static string Ids(LayerParse parse) => string.Join(", ", parse.Diagnostics.Select(d => d.Id));

    [Fact]
    public void The_attributes_become_specs_with_T5_defaults()
    {
        var parse = Parse("""
                [RelativeAttention(nameof(Cfg.Hidden), nameof(Cfg.Heads))] public partial RelativeAttention Attn { get; }
                [CrossAttention(nameof(Cfg.Hidden), nameof(Cfg.Heads), Scaled = false, Fused = false, Bias = true, Dropout = 0.1)] public partial CrossAttention Cross { get; }
                private Tensor Forward(Tensor x, [Input(InputShape.Hidden, Width = nameof(Cfg.Hidden))] Tensor memory) => Cross.call(Attn.call(x), memory);
            """);
        Assert.True(parse.Diagnostics.Count == 0, Ids(parse));
        var relative = Assert.IsType<RelativeAttentionSpec>(parse.Spec!.Blocks[0]);
        Assert.Equal(new RelativeAttentionSpec("Attn", "attn", new Dim("Hidden", 64), new Dim("Heads", 4), false, 32, 128, false, false, 0)
            { PropertyType = "global::ModelGen.Nn.RelativeAttention", PropertyModifiers = "public" }, relative);
        var cross = Assert.IsType<CrossAttentionSpec>(parse.Spec.Blocks[1]);
        Assert.Equal(new CrossAttentionSpec("Cross", "cross", new Dim("Hidden", 64), new Dim("Heads", 4), false, false, true, 0.1)
            { PropertyType = "global::ModelGen.Nn.CrossAttention", PropertyModifiers = "public" }, cross);
    }

    [Fact]
    public void MG0556_cross_attention_in_a_layer_whose_forward_takes_one_tensor()
    {
        var parse = Parse("""
                [CrossAttention(nameof(Cfg.Hidden), nameof(Cfg.Heads))] public partial CrossAttention Cross { get; }
                private Tensor Forward(Tensor x) => x;
            """);
        var diagnostic = Assert.Single(parse.Diagnostics);
        Assert.Equal("MG0556", diagnostic.Id);
        Assert.Equal(new[] { "Block", "Cross", "Forward" }, diagnostic.Arguments.ToArray());
        Assert.Null(parse.Spec);
    }

    [Theory]
    [InlineData("Buckets = 3", "MG0557")]                  // two-sided needs 4
    [InlineData("Buckets = 1, Causal = true", "MG0557")]   // one-sided needs 2
    [InlineData("Buckets = 0", "MG0557")]
    [InlineData("Buckets = -8", "MG0557")]
    [InlineData("Buckets = 32, MaxDistance = 8", "MG0558")] // 8 exact two-sided offsets
    [InlineData("Buckets = 32, MaxDistance = 16, Causal = true", "MG0558")] // 16 exact one-sided offsets
    [InlineData("Dropout = 1.0", "MG0559")]
    public void Bad_relative_attention_arguments_are_reported(string arguments, string id)
    {
        var parse = Parse($$"""
                [RelativeAttention(nameof(Cfg.Hidden), nameof(Cfg.Heads), {{arguments}})] public partial RelativeAttention Attn { get; }
                private Tensor Forward(Tensor x) => Attn.call(x);
            """);
        Assert.Equal(id, Ids(parse));
    }

    [Theory]
    [InlineData("nameof(Cfg.Hidden), 3")]   // 64 is not divisible by 3
    [InlineData("nameof(Cfg.Hidden), 0")]
    [InlineData("0, nameof(Cfg.Heads)")]
    public void Bad_cross_attention_sizes_are_MG0559(string sizes)
    {
        var parse = Parse($$"""
                [CrossAttention({{sizes}})] public partial CrossAttention Cross { get; }
                private Tensor Forward(Tensor x, [Input(InputShape.Hidden, Width = nameof(Cfg.Hidden))] Tensor memory) => Cross.call(x, memory);
            """);
        Assert.Equal("MG0559", Ids(parse));
    }

    [Fact]
    public void The_wrong_property_type_is_a_block_type_mismatch()
    {
        var parse = Parse("""
                [RelativeAttention(nameof(Cfg.Hidden), nameof(Cfg.Heads))] public partial Attention Attn { get; }
                private Tensor Forward(Tensor x) => Attn.call(x);
            """);
        Assert.Contains(parse.Diagnostics, d => d.Arguments.Contains("ModelGen.Nn.RelativeAttention"));
    }

    [Fact]
    public void Quantize_on_a_block_is_left_to_the_layer_analyzer()
    {
        var parse = Parse("""
                [CrossAttention(nameof(Cfg.Hidden), nameof(Cfg.Heads)), Quantize(QuantKind.Int8)] partial CrossAttention Cross { get; }
                Tensor Forward(Tensor x, [Input(InputShape.Hidden, Width = nameof(Cfg.Hidden))] Tensor memory) => Cross.call(x, memory);
            """);
        Assert.True(parse.Diagnostics.Count == 0, string.Join("\n", parse.Diagnostics.Select(d => d.Id + " " + string.Join(" | ", d.Arguments))));
        Assert.NotNull(Assert.IsType<CrossAttentionSpec>(parse.Spec!.Blocks[0]).Quant);
    }
}
