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
        public void Inference_attention_counts_the_cached_key_mask_and_training_saves_no_mask()
        {
            var attention = GptBlock(H, A, dropout: 0).Blocks.OfType<AttentionSpec>().Single();
            var inference = BlockForward.Of(attention, 4, new Pass(B, S, S, 1, false, DeviceProfile.Cpu), 0, false);
            // The cached path (Attention.Cached.cs) keeps one [b, 1, q, k] bool mask of hidden keys through its core, beside q·kᵀ and
            // the fp32 working copy (fp32: the probabilities are that copy) and the larger of the row statistics.
            var scores = B * A * S * S;
            var rowStatistics = B * A * S * 4;
            Assert.Equal((4 * scores) + (4 * scores) + (B * S * S) + rowStatistics,
                inference.Single(c => c.Name.StartsWith("eager core at its softmax", System.StringComparison.Ordinal)).Bytes);
            // Training runs Attention.Core, whose s×s causal mask is a transient freed once applied: nothing of it is saved.
            var training = BlockForward.Of(attention, 4, new Pass(B, S, S, 1, true, DeviceProfile.Cpu), 0, false);
            Assert.DoesNotContain(training, c => c.Saved && c.Name.Contains("mask", System.StringComparison.Ordinal));
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
