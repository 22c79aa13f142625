using System.Linq;
using ModelGen.Analyzers.Checks;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Tests
{
    /// <summary>The layer checks as pure functions: each id fires on a minimal bad spec and not on the fixed one.</summary>
    public sealed class SpecChecksLayerTests
    {
        private static readonly Dim Hidden = new("Hidden", 64);

        private static LayerSpec Layer(params BlockSpec[] blocks) =>
            new("Demo", "Block", "global::Demo.Block", "public", "global::Demo.Cfg", false, blocks.ToEquatableArray(), new ForwardSpec("Forward", "x"));

        private static LinearSpec Linear(string name, long inFeatures = 64, long outFeatures = 64) =>
            new(name, name.ToLowerInvariant(), Dim.Literal(inFeatures), Dim.Literal(outFeatures), true);

        private static AttentionSpec Attention(long hidden, long heads, long kvHeads, bool rotary = false) =>
            new("Attn", "attn", new Dim("Hidden", hidden), new Dim("Heads", heads), new Dim("KvHeads", kvHeads), true, rotary, 10000, true, false, 0);

        private static string Messages(LayerSpec layer) => string.Join("\n", SpecChecks.CheckLayer(layer).Select(f => f.Id + ": " + f.Message));

        [Fact]
        public void A_valid_layer_has_no_findings()
        {
            var layer = Layer(
                Linear("Up", 64, 256) with { Shard = ShardStyle.Column, Quant = new QuantSpec(QuantKind.Int4, 64, false) },
                Linear("Down", 256, 64) with { Shard = ShardStyle.Row, Quant = new QuantSpec(QuantKind.Int8, 0, false) },
                Attention(64, 8, 2, rotary: true) with { Shard = ShardStyle.Column },
                new EmbeddingSpec("Embed", "embed", Dim.Literal(100), Hidden) { Shard = ShardStyle.Vocab },
                new FeedForwardSpec("Mlp", "mlp", Hidden, Dim.Literal(256), FeedForwardActivation.SwiGlu, false) { Shard = ShardStyle.Column },
                new DropoutSpec("Drop", "drop", 0.1),
                new RmsNormSpec("Norm", "norm", Hidden, 1e-6),
                new StackSpec("Blocks", "blocks", Dim.Literal(2), "global::Demo.Inner", 1));
            Assert.Equal("", Messages(layer));
        }

        [Theory]
        [InlineData(0, "MG0403: Block 'Up': In = 0 must be at least 1")]
        [InlineData(-3, "MG0403: Block 'Up': In = -3 must be at least 1")]
        public void Non_positive_sizes(long size, string expected) =>
            Assert.Equal(expected, Messages(Layer(Linear("Up", size, 64))));

        [Fact]
        public void Non_positive_size_names_the_config_member() =>
            Assert.Equal("MG0403: Block 'Blocks': Count = Layers (0) must be at least 1",
                Messages(Layer(new StackSpec("Blocks", "blocks", new Dim("Layers", 0), "global::Demo.Inner", 0))));

        [Fact]
        public void Heads_not_divisible_by_kv_heads()
        {
            Assert.Equal("MG0401: Block 'Attn': Heads = 8 is not divisible by KvHeads = 3", Messages(Layer(Attention(64, 8, 3))));
            Assert.Equal("", Messages(Layer(Attention(64, 8, 4))));
        }

        [Fact]
        public void Hidden_not_divisible_by_heads()
        {
            Assert.Equal("MG0402: Block 'Attn': Hidden = 100 is not divisible by Heads = 8", Messages(Layer(Attention(100, 8, 8))));
            Assert.Equal("", Messages(Layer(Attention(96, 8, 8))));
        }

        [Fact]
        public void Rotary_needs_an_even_head_dimension()
        {
            Assert.Equal("MG0404: Block 'Attn': rotary embedding rotates pairs of features, but the head dimension Hidden / Heads = 9 is odd",
                Messages(Layer(Attention(72, 8, 8, rotary: true))));
            Assert.Equal("", Messages(Layer(Attention(72, 8, 8, rotary: false))));
        }

        [Theory]
        [InlineData(1.0, "MG0112: Block 'Drop': Dropout p = 1 must be in [0, 1)")]
        [InlineData(-0.1, "MG0112: Block 'Drop': Dropout p = -0.1 must be in [0, 1)")]
        [InlineData(double.NaN, "MG0112: Block 'Drop': Dropout p = NaN must be in [0, 1)")]
        [InlineData(0.0, "")]
        [InlineData(0.999, "")]
        public void Dropout_probability(double p, string expected) =>
            Assert.Equal(expected, Messages(Layer(new DropoutSpec("Drop", "drop", p))));

        [Fact]
        public void Attention_dropout_and_norm_eps()
        {
            Assert.Equal("MG0112: Block 'Attn': Attention Dropout = 1.5 must be in [0, 1)",
                Messages(Layer(Attention(64, 8, 8) with { DropoutP = 1.5 })));
            Assert.Equal("MG0112: Block 'Norm': RmsNorm Eps = 0 must be positive", Messages(Layer(new RmsNormSpec("Norm", "norm", Hidden, 0))));
            Assert.Equal("MG0112: Block 'Norm': LayerNorm Eps = -0.001 must be positive", Messages(Layer(new LayerNormSpec("Norm", "norm", Hidden, -1e-3, true))));
        }

        [Fact]
        public void Checkpoint_every_below_one()
        {
            Assert.Equal("Block 'Blocks': Checkpoint Every = 0 must be at least 1 (1 checkpoints every repeat)", SpecChecks.CheckCheckpointEvery("Blocks", 0).Single().Message);
            Assert.Empty(SpecChecks.CheckCheckpointEvery("Blocks", 2));
        }

        [Theory]
        [InlineData(ShardStyle.Vocab, "MG0202: Block 'Up' is a Linear and cannot be sharded by Vocab; use ShardStyle.Column or ShardStyle.Row")]
        [InlineData(ShardStyle.Column, "")]
        [InlineData(ShardStyle.Row, "")]
        public void Linear_shard_styles(ShardStyle style, string expected) =>
            Assert.Equal(expected, Messages(Layer(Linear("Up") with { Shard = style })));

        [Fact]
        public void Blocks_that_cannot_be_sharded()
        {
            Assert.Equal("MG0202: Block 'Norm' is an RmsNorm and cannot be sharded by Column; only Linear, Embedding, Attention and FeedForward blocks are sharded",
                Messages(Layer(new RmsNormSpec("Norm", "norm", Hidden, 1e-6) { Shard = ShardStyle.Column })));
            Assert.Equal("MG0202: Block 'Embed' is an Embedding and cannot be sharded by Column; use ShardStyle.Vocab",
                Messages(Layer(new EmbeddingSpec("Embed", "embed", Dim.Literal(100), Hidden) { Shard = ShardStyle.Column })));
            Assert.Equal("MG0202: Block 'Attn' is an Attention block and cannot be sharded by Row; use ShardStyle.Column",
                Messages(Layer(Attention(64, 8, 8) with { Shard = ShardStyle.Row })));
        }

        [Fact]
        public void Only_linear_attention_and_feed_forward_blocks_are_quantized()
        {
            Assert.Equal("MG0301: Block 'Embed' is an Embedding; only Linear, Attention and FeedForward blocks can be quantized",
                Messages(Layer(new EmbeddingSpec("Embed", "embed", Dim.Literal(100), Hidden) { Quant = new QuantSpec(QuantKind.Int8, 0, false) })));
            Assert.Equal("", Messages(Layer(Attention(64, 8, 8) with { Quant = new QuantSpec(QuantKind.NF4, 64, false) })));
            Assert.Equal("", Messages(Layer(new FeedForwardSpec("Mlp", "mlp", Hidden, new Dim("Ffn", 256), FeedForwardActivation.SwiGlu, false) { Quant = new QuantSpec(QuantKind.Int4, 32, false) })));
        }

        [Fact]
        public void A_quantized_attention_or_feed_forward_can_be_sharded()
        {
            // Built with QuantizedParallelLinear projections (docs/tensor-parallel.md); MG0307 is retired.
            Assert.Equal("", Messages(Layer(Attention(64, 8, 8) with { Quant = new QuantSpec(QuantKind.NF4, 64, false), Shard = ShardStyle.Column })));
        }

        [Fact]
        public void Group_size_must_divide_every_projection_input_of_a_feed_forward()
        {
            // 64 divides Hidden (64) but not Inner (96): down_proj reads Inner features.
            Assert.Equal("MG0303: Block 'Mlp': GroupSize = 64 does not divide Inner = Ffn (96)",
                Messages(Layer(new FeedForwardSpec("Mlp", "mlp", Hidden, new Dim("Ffn", 96), FeedForwardActivation.Gelu, false) { Quant = new QuantSpec(QuantKind.Int4, 64, false) })));
        }

        [Theory]
        [InlineData(QuantKind.Int4, 16, "MG0302: Block 'Up': Int4 does not support GroupSize = 16; use 32, 64, 128")]
        [InlineData(QuantKind.Int4, 32, "")]
        [InlineData(QuantKind.Int4, 128, "")]
        [InlineData(QuantKind.NF4, 48, "MG0302: Block 'Up': NF4 does not support GroupSize = 48; use 32, 64, 128, 256")]
        [InlineData(QuantKind.NF4, 128, "")]
        [InlineData(QuantKind.NF4, 64, "")]
        [InlineData(QuantKind.Int8, 64, "MG0302: Block 'Up': Int8 does not support GroupSize = 64; int8 keeps one scale per output channel; remove GroupSize")]
        [InlineData(QuantKind.Int8, 0, "")]
        public void Group_sizes(QuantKind kind, int group, string expected) =>
            Assert.Equal(expected, Messages(Layer(Linear("Up", 256, 64) with { Quant = new QuantSpec(kind, group, false) })));

        [Fact]
        public void Group_size_must_divide_in()
        {
            Assert.Equal("MG0303: Block 'Up': GroupSize = 128 does not divide In = Hidden (192)",
                Messages(Layer(new LinearSpec("Up", "up", new Dim("Hidden", 192), Hidden, false) { Quant = new QuantSpec(QuantKind.Int4, 128, false) })));
            Assert.Equal("", Messages(Layer(new LinearSpec("Up", "up", new Dim("Hidden", 192), Hidden, false) { Quant = new QuantSpec(QuantKind.Int4, 64, false) })));
        }

        [Fact]
        public void Double_quant_needs_nf4()
        {
            Assert.Equal("MG0305: Block 'Up': DoubleQuant applies to NF4 only and is ignored for Int4",
                Messages(Layer(Linear("Up") with { Quant = new QuantSpec(QuantKind.Int4, 64, true) })));
            Assert.Equal("", Messages(Layer(Linear("Up") with { Quant = new QuantSpec(QuantKind.NF4, 64, true) })));
        }

        [Fact]
        public void Duplicate_state_names()
        {
            Assert.Equal("MG0113: Blocks 'Up' and 'Proj' of 'Block' both use the state_dict key 'up'; give one of them another [StateName]",
                Messages(Layer(Linear("Up"), new LinearSpec("Proj", "up", Hidden, Hidden, true))));
            Assert.Equal("", Messages(Layer(Linear("Up"), Linear("Proj"))));
        }
    }
}
