using System.Threading.Tasks;
using ModelGen.Analyzers.Tests.Infrastructure;

namespace ModelGen.Analyzers.Tests
{
    /// <summary>The layer analyzer reports the parser's diagnostics and the spec checks at the attribute that is wrong.</summary>
    public sealed class LayerAnalyzerTests
    {
        private const string Config = "public sealed record Cfg { public int Hidden { get; init; } = 64; public int Heads { get; init; } = 8; public int Kv { get; init; } = 3; }\n";

        private static Task Verify(string source) => new AnalyzerTest<LayerAnalyzer>(Config + source).RunAsync();

        [Fact]
        public Task A_valid_layer_reports_nothing() => Verify("""
            [Layer(typeof(Cfg))]
            public partial class Block
            {
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden)), Shard(ShardStyle.Column), Quantize(QuantKind.Int4, GroupSize = 64)] partial nn.Module<Tensor, Tensor> Up { get; }
                Tensor Forward(Tensor x) => Up.call(x);
            }
            """);

        [Fact]
        public Task Not_partial_is_reported_once_on_the_class_name() => Verify("""
            [Layer(typeof(Cfg))]
            public class {|MG0101:Block|}
            {
                Tensor Forward(Tensor x) => x;
            }
            """);

        [Fact]
        public Task Unknown_config_member_points_at_the_block_attribute() => Verify("""
            [Layer(typeof(Cfg))]
            public partial class Block
            {
                [{|MG0102:Linear("Hiden", nameof(Cfg.Hidden))|}] partial Linear Up { get; }
                Tensor Forward(Tensor x) => Up.call(x);
            }
            """);

        [Fact]
        public Task Missing_forward() => Verify("""
            [Layer(typeof(Cfg))]
            public partial class {|MG0107:Block|}
            {
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Up { get; }
            }
            """);

        [Fact]
        public Task Spec_findings_point_at_the_attribute_that_is_wrong() => Verify("""
            [Layer(typeof(Cfg))]
            public partial class Block
            {
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden)), {|MG0302:Quantize(QuantKind.Int4, GroupSize = 48)|}] partial nn.Module<Tensor, Tensor> Up { get; }
                [RmsNorm(nameof(Cfg.Hidden)), {|MG0202:Shard(ShardStyle.Column)|}] partial nn.Module<Tensor, Tensor> Norm { get; }
                [{|MG0401:Attention(nameof(Cfg.Hidden), nameof(Cfg.Heads), KvHeads = nameof(Cfg.Kv))|}] partial nn.Module<Tensor, Tensor> Attn { get; }
                [{|MG0112:Dropout(1.0)|}] partial Dropout Drop { get; }
                [{|MG0403:Linear(0, 4)|}] partial Linear Empty { get; }
                Tensor Forward(Tensor x) => Up.call(x);
            }
            """);

        [Fact]
        public Task Duplicate_state_name_points_at_the_second_block() => Verify("""
            [Layer(typeof(Cfg))]
            public partial class Block
            {
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Up { get; }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden)), StateName("up")] partial Linear {|MG0113:Other|} { get; }
                Tensor Forward(Tensor x) => Up.call(x);
            }
            """);

        [Fact]
        public Task A_layer_reached_from_two_models_is_reported_once() => Verify("""
            [Layer(typeof(Cfg))]
            public partial class Block
            {
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden)), Quantize(QuantKind.Int8)] partial nn.Module<Tensor, Tensor> Up { get; }
                [Embedding(nameof(Cfg.Hidden), nameof(Cfg.Hidden)), {|MG0301:Quantize(QuantKind.Int8)|}] partial Embedding Table { get; }
                Tensor Forward(Tensor x) => Up.call(x);
            }
            [Model(typeof(Cfg))]
            public partial class First
            {
                [Stack(2)] partial ModuleList<Block> Blocks { get; }
                Tensor Forward(Tensor x) => x;
            }
            [Model(typeof(Cfg))]
            public partial class Second
            {
                [Sublayer] partial Block Inner { get; }
                Tensor Forward(Tensor x) => x;
            }
            """);

        [Fact]
        public Task Checkpoint_every_below_one() => Verify("""
            [Layer(typeof(Cfg))]
            public partial class Inner
            {
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Up { get; }
                Tensor Forward(Tensor x) => Up.call(x);
            }
            [Model(typeof(Cfg))]
            public partial class Outer
            {
                [Stack(2), {|MG0112:Checkpoint(Every = 0)|}] partial ModuleList<Inner> Blocks { get; }
                Tensor Forward(Tensor x) => x;
            }
            """);

        [Fact]
        public Task The_generated_constructor_is_not_the_users() => Verify("""
            // The analyzers see the compilation after generation: the constructor the generator wrote must not count as the user's
            // (MG0108), or the class would not parse there and its spec checks (here MG0403) would be lost.
            [Layer(typeof(Cfg))]
            public partial class Block
            {
                [{|MG0403:Linear(0, 4)|}] partial Linear Up { get; }
                Tensor Forward(Tensor x) => Up.call(x);
            }
            """);

        [Fact]
        public Task A_constructor_the_user_wrote_is_reported() => Verify("""
            [Layer(typeof(Cfg))]
            public partial class {|MG0108:Block|}
            {
                public Block(Cfg config) { }
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Up { get; }
                Tensor Forward(Tensor x) => Up.call(x);
            }
            """);

        [Fact]
        public Task Selective_checkpointing_without_attention_points_at_the_checkpoint_attribute() => Verify("""
            [Layer(typeof(Cfg)), {|MG0118:Checkpoint(CheckpointMode.Selective)|}]
            public partial class Block
            {
                [Linear(nameof(Cfg.Hidden), nameof(Cfg.Hidden))] partial Linear Up { get; }
                Tensor Forward(Tensor x) => Up.call(x);
            }
            """);
    }
}
