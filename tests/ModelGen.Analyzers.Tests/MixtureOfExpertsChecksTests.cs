using System.Linq;
using System.Threading.Tasks;
using ModelGen.Analyzers.Checks;
using ModelGen.Analyzers.Tests.Infrastructure;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Tests
{
    /// <summary>[MixtureOfExperts] values (MG0541–MG0544): as pure checks over the spec, and reported at the attribute in the IDE.</summary>
    public sealed class MixtureOfExpertsChecksTests
    {
        private static string Messages(long experts, long topK, double capacity = 0)
        {
            var moe = new MixtureOfExpertsSpec("Moe", "moe", new Dim("Hidden", 64), Dim.Literal(128), new Dim("Experts", experts), new Dim("TopK", topK),
                FeedForwardActivation.SwiGlu, capacity);
            var layer = new LayerSpec("Demo", "Block", "global::Demo.Block", "public", "global::Demo.Cfg", false, new BlockSpec[] { moe }.ToEquatableArray(), new ForwardSpec("Forward", "x"));
            return string.Join("\n", SpecChecks.CheckLayer(layer).Select(f => f.Id + ": " + f.Message));
        }

        [Theory]
        [InlineData(8, 2, 0.0, "")]
        [InlineData(8, 8, 1.25, "")]
        [InlineData(8, 9, 0.0, "MG0541: Block 'Moe': TopK = 9 routes each token to more experts than the 8 there are")]
        [InlineData(0, 2, 0.0, "MG0542: Block 'Moe': Experts = 0 must be at least 1")]
        [InlineData(8, 0, 0.0, "MG0542: Block 'Moe': TopK = 0 must be at least 1")]
        [InlineData(8, 2, -0.5, "MG0543: Block 'Moe': CapacityFactor = -0.5 must be 0 (dropless) or a positive finite number")]
        [InlineData(8, 2, double.NaN, "MG0543: Block 'Moe': CapacityFactor = NaN must be 0 (dropless) or a positive finite number")]
        [InlineData(8, 2, 0.75, "MG0544: Block 'Moe': CapacityFactor = 0.75 leaves room for 75 % of the routes even when every expert gets the same share; use at least 1 (Switch Transformer trains with 1.25), or 0 for dropless")]
        public void Each_bad_value_has_its_id_and_a_good_one_has_none(long experts, long topK, double capacity, string expected) =>
            Assert.Equal(expected, Messages(experts, topK, capacity));

        [Fact]
        public Task Findings_point_at_the_attribute() => new AnalyzerTest<LayerAnalyzer>("""
            public sealed record Cfg { public int Hidden { get; init; } = 64; public int Experts { get; init; } = 4; public int TopK { get; init; } = 6; }

            [Layer(typeof(Cfg))]
            public partial class Block
            {
                [{|MG0541:MixtureOfExperts(nameof(Cfg.Hidden), 128, nameof(Cfg.Experts), TopK = nameof(Cfg.TopK))|}] partial nn.Module<Tensor, Tensor> Moe { get; }
                [{|MG0544:MixtureOfExperts(nameof(Cfg.Hidden), 128, 8, CapacityFactor = 0.5)|}] partial nn.Module<Tensor, Tensor> Dropping { get; }
                [MixtureOfExperts(nameof(Cfg.Hidden), 128, 8, TopK = 1, Activation = FeedForwardActivation.Gelu, CapacityFactor = 1.25)] partial nn.Module<Tensor, Tensor> Switch { get; }
                Tensor Forward(Tensor x) => x + Moe.call(x) + Dropping.call(x) + Switch.call(x);
            }
            """).RunAsync();
    }
}
