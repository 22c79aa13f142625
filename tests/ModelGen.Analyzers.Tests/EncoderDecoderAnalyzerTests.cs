using System.Threading.Tasks;
using ModelGen.Analyzers.Tests.Infrastructure;

namespace ModelGen.Analyzers.Tests
{
    /// <summary>[Quantize] and [Shard] on the encoder–decoder blocks are reported at the attribute (docs/encoder-decoder.md).</summary>
    public sealed class EncoderDecoderAnalyzerTests
    {
        private const string Config = "public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 8; }\n";

        private static Task Verify(string source) => new AnalyzerTest<LayerAnalyzer>(Config + source).RunAsync();

        [Fact]
        public Task A_valid_decoder_layer_reports_nothing() => Verify("""
            [Layer(typeof(Cfg))]
            public partial class Block
            {
                [RelativeAttention(nameof(Cfg.Hidden), nameof(Cfg.Heads), Causal = true)] partial ModelGen.Nn.RelativeAttention Attn { get; }
                [CrossAttention(nameof(Cfg.Hidden), nameof(Cfg.Heads))] partial ModelGen.Nn.CrossAttention Cross { get; }
                Tensor Forward(Tensor x, [Input(InputShape.Hidden, Width = nameof(Cfg.Hidden))] Tensor memory) => Cross.call(Attn.call(x), memory);
            }
            """);

        [Fact]
        public Task Quantize_on_a_relative_attention_block_is_reported_at_the_attribute() => Verify("""
            [Layer(typeof(Cfg))]
            public partial class Block
            {
                [RelativeAttention(nameof(Cfg.Hidden), nameof(Cfg.Heads)), {|MG0301:Quantize(QuantKind.Int8)|}] partial ModelGen.Nn.RelativeAttention Attn { get; }
                [Embedding(nameof(Cfg.Hidden), nameof(Cfg.Hidden)), {|MG0301:Quantize(QuantKind.Int8)|}] partial Embedding Table { get; }
                Tensor Forward(Tensor x) => Attn.call(x);
            }
            """);

        [Fact]
        public Task Shard_on_a_relative_attention_block_is_reported_at_the_attribute() => Verify("""
            [Layer(typeof(Cfg))]
            public partial class Block
            {
                [RelativeAttention(nameof(Cfg.Hidden), nameof(Cfg.Heads)), {|MG0202:Shard(ShardStyle.Column)|}] partial nn.Module<Tensor, Tensor> Attn { get; }
                Tensor Forward(Tensor x) => Attn.call(x);
            }
            """);
    }
}
