using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>A checkpointed layer keeps every declared forward input (docs/attributes.md, "Forward"), and only declared ones.</summary>
    public class ForwardInputTests
    {
        private const long B = 2, S = 512, H = 768, A = 12;
        private const long Sbh = S * B * H;

        private static long KeptPerLayer(ForwardSpec forward)
        {
            var root = Models.Layer("Gpt", true, new StackSpec("H", "h", D("Layers", 4), "global::Demo.GptBlock", 0)) with { Precision = DType.BFloat16 };
            var block = GptBlock(H, A, checkpoint: CheckpointMode.Full) with { Forward = forward };
            var walk = ModelWalk.Run(Model(root, block), new Pass(B, S, S, 1, true, DeviceProfile.Cuda), false);
            var steps = Step.Expand(walk.Steps).ToList(); // a training walk keeps the stack as one run; expanded, one step per layer
            Assert.Equal(4, steps.Count);
            return steps.Select(s => s.Kept).Distinct().Single();
        }

        [Fact]
        public void The_classic_forward_keeps_its_hidden_input()
        {
            Assert.Equal(2 * Sbh, KeptPerLayer(new ForwardSpec("Forward", "x")));
        }

        [Fact]
        public void Declared_inputs_add_their_bytes_and_undeclared_ones_nothing()
        {
            var forward = new ForwardSpec("Forward", "x")
            {
                Inputs = EquatableArray.Create(
                    new ForwardInput("x", false, false),
                    new ForwardInput("mask", true, true) { Size = new InputSize(InputShape.Tokens, Dim.Literal(0), 1) },
                    new ForwardInput("positions", true, true) { Size = new InputSize(InputShape.Tokens, Dim.Literal(0), 0) },
                    new ForwardInput("bias", true, true) { Size = new InputSize(InputShape.Pairs, Dim.Literal(0), 2) },
                    new ForwardInput("memory", false, false) { Size = new InputSize(InputShape.Hidden, D("Hidden", 256), 0) },
                    new ForwardInput("undeclared", true, true)),
            };
            // bf16 hidden 2sbh; bool mask s·b; int64 positions 8·s·b; fp16 pair bias 2·b·s²; bf16 memory 2·s·b·256.
            Assert.Equal((2 * Sbh) + (S * B) + (8 * S * B) + (2 * B * S * S) + (2 * S * B * 256), KeptPerLayer(forward));
        }

        [Fact]
        public void A_declared_first_input_replaces_the_block_rule()
        {
            var forward = new ForwardSpec("Forward", "x")
            {
                Inputs = EquatableArray.Create(new ForwardInput("x", false, false) { Size = new InputSize(InputShape.Hidden, D("Hidden", H), 4) }),
            };
            Assert.Equal(4 * Sbh, KeptPerLayer(forward));
        }
    }
}
