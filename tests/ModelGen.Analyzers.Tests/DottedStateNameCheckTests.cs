using System.Linq;
using ModelGen.Analyzers.Checks;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Tests
{
    /// <summary>Dotted [StateName]s: levels are shared containers, so only a block that takes a container's name collides.</summary>
    public sealed class DottedStateNameCheckTests
    {
        private static LayerSpec Layer(params BlockSpec[] blocks) =>
            new("Demo", "Block", "global::Demo.Block", "public", "global::Demo.Cfg", false, blocks.ToEquatableArray(), new ForwardSpec("Forward", "x"));

        private static LinearSpec Linear(string name, string stateName) => new(name, stateName, Dim.Literal(8), Dim.Literal(8), true);

        private static string Messages(LayerSpec layer) => string.Join("\n", SpecChecks.CheckLayer(layer).Select(f => f.Id + ": " + f.Message));

        [Fact]
        public void Dotted_names_sharing_levels_are_fine()
        {
            Assert.Equal("", Messages(Layer(Linear("Query", "attention.self.query"), Linear("Key", "attention.self.key"), Linear("Dense", "attention.output.dense"))));
        }

        [Fact]
        public void A_block_named_like_a_prefix_of_a_dotted_name_collides()
        {
            Assert.Equal("MG0113: Blocks 'Attention' and 'Query' of 'Block' both use the state_dict key 'attention'; give one of them another [StateName]",
                Messages(Layer(Linear("Attention", "attention"), Linear("Query", "attention.self.query"))));
            Assert.Equal("MG0113: Blocks 'Self' and 'Query' of 'Block' both use the state_dict key 'attention.self'; give one of them another [StateName]",
                Messages(Layer(Linear("Self", "attention.self"), Linear("Query", "attention.self.query"))));
        }
    }
}
