using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>
    /// In inference the generated forwards' dispose scopes keep the outputs of the units that already ran until their layer
    /// returns (docs/memory-check.md, "Inference"): the model's scope holds the embedding's and every earlier block's output.
    /// </summary>
    public class ScopeRetentionTests
    {
        private const long B = 8, S = 256, H = 512, A = 8, Layers = 4;
        private const long Bsh = B * S * H * 4; // one fp32 hidden state

        private static ModelSpec Probe()
        {
            var root = Models.Layer("Probe", true,
                new EmbeddingSpec("Embed", "embed", D("Vocab", 4096), D("Hidden", H)),
                new StackSpec("Blocks", "blocks", D("Layers", Layers), "global::Demo.GptBlock", 0),
                new LayerNormSpec("Norm", "norm", D("Hidden", H), 1e-5, true),
                new LinearSpec("Head", "head", D("Hidden", H), D("Vocab", 4096), false));
            return Model(root, GptBlock(H, A, dropout: 0));
        }

        private static Step[] Steps() => ModelWalk.Run(Probe(), new Pass(B, S, S, 1, false, DeviceProfile.Cpu), false).Steps.ToArray();

        [Fact]
        public void During_the_last_blocks_attention_the_embedding_and_earlier_blocks_and_its_norm_are_held()
        {
            var steps = Steps();
            var held = ScopeRetention.Held(steps);
            var last = System.Array.FindIndex(steps, s => s.Path == $"Probe.Blocks[{Layers - 1}].Attn");
            // Model scope: Embed + 3 blocks; the block's scope: Ln1 (the attention's input, already counted as its Input).
            Assert.Equal(4 * Bsh, held[last]);
            var first = System.Array.FindIndex(steps, s => s.Path == "Probe.Blocks[0].Attn");
            Assert.Equal(Bsh, held[first]); // the embedding's output; Ln1's is the attention's input
            Assert.Equal(0, held[0]);
        }

        [Fact]
        public void The_prefill_peak_counts_the_held_outputs_and_training_does_not_change()
        {
            var inference = MemoryModel.Estimate(Probe(), Inference(S, B), DeviceProfile.Cpu);
            var prefill = inference.Phases.Single(p => p.Phase == MemoryPhases.Prefill);
            var steps = Steps();
            var held = ScopeRetention.Held(steps);
            var expected = Enumerable.Range(0, steps.Length).Max(k => steps[k].Input + held[k] + steps[k].Temporary);
            Assert.Equal(expected, ModelStateTests.Term(prefill, MemoryTerms.Activations) + ModelStateTests.Term(prefill, MemoryTerms.Transients));
        }

        [Fact]
        public void Inference_attention_counts_the_cached_key_mask_and_training_the_causal_mask()
        {
            var attention = GptBlock(H, A, dropout: 0).Blocks.OfType<AttentionSpec>().Single();
            var inference = BlockForward.Of(attention, 4, new Pass(B, S, S, 1, false, DeviceProfile.Cpu), 0, false);
            Assert.Equal(3 * B * S * S, inference.Single(c => c.Name.StartsWith("key mask", System.StringComparison.Ordinal)).Bytes);
            Assert.DoesNotContain(inference, c => c.Name.StartsWith("causal mask", System.StringComparison.Ordinal));
            var training = BlockForward.Of(attention, 4, new Pass(B, S, S, 1, true, DeviceProfile.Cpu), 0, false);
            Assert.Equal(S * S, training.Single(c => c.Name.StartsWith("causal mask", System.StringComparison.Ordinal)).Bytes);
        }

        [Fact]
        public void Held_is_linear_in_the_steps()
        {
            // 10,000 single-block layers: a quadratic walk would take seconds; this one is instant.
            var steps = Enumerable.Range(0, 10_000).Select(i => new Step { Path = $"M.Blocks[{i}].Up", Input = 4 }).ToArray();
            var held = ScopeRetention.Held(steps);
            Assert.Equal(4L * 9_999 - 4, held[^1]);
        }
    }
}
