using System;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>
    /// Block semantics beyond "declared blocks in order": learned position tables cap the sequence, explicit heads choose the loss,
    /// encoders keep no KV cache, post-LN costs what pre-LN costs, and each feed-forward activation saves what autograd keeps.
    /// </summary>
    public class BlockSemanticsTests
    {
        private const long H = 256, A = 4, Inner = 1024, Vocab = 1000, Classes = 3;

        /// <summary>A BERT-style model: token, position and token-type tables, a post-LN encoder stack, pooler, classifier.</summary>
        private static ModelSpec Bert(long positions = 512, HeadKind? head = HeadKind.Classifier, bool pooler = true, FeedForwardActivation activation = FeedForwardActivation.GeluErf)
        {
            var blocks = new System.Collections.Generic.List<BlockSpec>
            {
                new EmbeddingSpec("Words", "word_embeddings", D("Vocab", Vocab), D("Hidden", H)),
                new EmbeddingSpec("Positions", "position_embeddings", D("Positions", positions), D("Hidden", H)) { Role = EmbeddingRole.Positions },
                new EmbeddingSpec("Types", "token_type_embeddings", Dim.Literal(2), D("Hidden", H)) { Role = EmbeddingRole.TokenTypes },
                new LayerNormSpec("EmbedNorm", "embeddings.LayerNorm", D("Hidden", H), 1e-12, true),
                new StackSpec("Layers", "encoder.layer", D("Layers", 2), "global::Demo.EncoderBlock", 0),
            };
            if (pooler)
            {
                blocks.Add(new PoolerSpec("Pool", "pooler", D("Hidden", H)));
                blocks.Add(new DropoutSpec("Drop", "dropout", 0.1));
            }
            blocks.Add(new LinearSpec("Classifier", "classifier", D("Hidden", H), D("Classes", Classes), true) { Head = head });
            var root = Layer("Bert", true, blocks.ToArray()) with { Precision = DType.BFloat16 };
            return Model(root, EncoderBlock(activation, postNorm: true));
        }

        /// <summary>One encoder layer, post-LN (attention, norm, MLP, norm) or pre-LN (norm, attention, norm, MLP).</summary>
        private static LayerSpec EncoderBlock(FeedForwardActivation activation, bool postNorm)
        {
            var attention = new AttentionSpec("Attn", "attention", D("Hidden", H), D("Heads", A), D("Heads", A), false, false, 10000, true, true, 0);
            var mlp = new FeedForwardSpec("Mlp", "mlp", D("Hidden", H), D("Inner", Inner), activation, true);
            var norm1 = new LayerNormSpec("Norm1", "norm1", D("Hidden", H), 1e-12, true);
            var norm2 = new LayerNormSpec("Norm2", "norm2", D("Hidden", H), 1e-12, true);
            return Layer("EncoderBlock", false, postNorm ? new BlockSpec[] { attention, norm1, mlp, norm2 } : new BlockSpec[] { norm1, attention, norm2, mlp });
        }

        private static LayerMemory LayerOf(MemoryEstimate estimate, string type) => estimate.Layers.First(l => l.LayerType == type);

        [Fact]
        public void A_sequence_longer_than_the_position_table_is_refused_with_the_table_named()
        {
            var error = Assert.Throws<ArgumentException>(() => MemoryModel.Estimate(Bert(), Training(513, 2)));
            Assert.Contains("'Bert.Positions' has 512 rows", error.Message, StringComparison.Ordinal);
            Assert.True(MemoryModel.Estimate(Bert(), Training(512, 2)).PeakBytes > 0);
        }

        [Fact]
        public void Fits_up_to_never_exceeds_the_position_table()
        {
            // 1 TiB fits any length this small model could run: the search stops at the table's 512 rows.
            Assert.Equal(512, Fit.MaxSequenceLength(Bert(), Training(128), 1L << 40));
            Assert.Equal(1000, Fit.MaxSequenceLength(Bert(positions: 1000), Training(128), 1L << 40));
            // Without a position table the search goes on to its own limit.
            var noPositions = Model(Layer("M", true, new EmbeddingSpec("E", "e", D("Vocab", 10), D("Hidden", 8)), new LinearSpec("L", "l", D("Hidden", 8), D("Vocab", 10), false)));
            Assert.Equal(Fit.MaxSearchedSequenceLength, Fit.MaxSequenceLength(noPositions, Training(1), 1L << 50));
        }

        [Fact]
        public void A_classifier_loss_reads_one_row_per_sequence_and_the_pooled_blocks_too()
        {
            const long s = 128, b = 4;
            var estimate = MemoryModel.Estimate(Bert(), Training(s, b), DeviceProfile.Cuda);
            var root = LayerOf(estimate, "Bert");
            Assert.Equal(b * H * 2, root.SavedTensors.Single(t => t.Block == "Pool" && t.Tensor == "first token (dense input)").Bytes);
            Assert.Equal(b * H * 2, root.SavedTensors.Single(t => t.Block == "Pool" && t.Tensor == "tanh output").Bytes);
            Assert.Equal(b * H, root.SavedTensors.Single(t => t.Block == "Drop").Bytes); // bool mask of the pooled rows (CUDA)
            Assert.Equal(b * H * 2, root.SavedTensors.Single(t => t.Block == "Classifier").Bytes);
            // Pooler parameters: dense h×h plus bias.
            var withoutPooler = MemoryModel.Estimate(Bert(pooler: false, head: HeadKind.Classifier), Training(s, b));
            Assert.Equal((H * H) + H, estimate.ParameterCount - withoutPooler.ParameterCount);
        }

        [Fact]
        public void The_loss_follows_the_declared_head()
        {
            const long s = 128, b = 4;
            (long Rows, long Columns, int ElementBytes) Logits(HeadKind? head) =>
                ModelWalk.Run(Bert(pooler: false, head: head), new Pass(b, s, s, 1, true, DeviceProfile.Cuda), false).Logits;
            // The loss reads every position's logits (LM head), one row per sequence (classifier), or nothing.
            Assert.Equal((s * b, Classes, 2), Logits(HeadKind.LanguageModel));
            Assert.Equal((b, Classes, 2), Logits(HeadKind.Classifier));
            Assert.Equal((0, 0, 0), Logits(HeadKind.None));
            // Without a [Head] the last Linear is an LM head, as before; after a [Pooler] it is a classifier.
            Assert.Equal(Logits(HeadKind.LanguageModel), Logits(null));
            Assert.Equal((b, Classes, 2), ModelWalk.Run(Bert(pooler: true, head: null), new Pass(b, s, s, 1, true, DeviceProfile.Cuda), false).Logits);
        }

        [Fact]
        public void An_encoder_has_no_KV_cache_and_no_decode_step()
        {
            var estimate = MemoryModel.Estimate(Bert(), Inference(512, 8));
            Assert.Equal(new[] { MemoryPhases.Prefill }, estimate.Phases.Select(p => p.Phase));
            Assert.Equal(0, estimate.Term(MemoryTerms.KvCache));
            // A decoder keeps both.
            var decoder = MemoryModel.Estimate(Gpt2Small(DType.BFloat16), Inference(512, 8));
            Assert.Equal(new[] { MemoryPhases.Prefill, MemoryPhases.Decode }, decoder.Phases.Select(p => p.Phase));
            Assert.True(decoder.Phases.All(p => p.Terms.Single(t => t.Name == MemoryTerms.KvCache).Bytes > 0));
        }

        [Fact]
        public void Post_LN_saves_what_pre_LN_saves()
        {
            long Saved(bool post)
            {
                var root = Layer("M", true, new StackSpec("Layers", "layers", D("Layers", 2), "global::Demo.EncoderBlock", 0)) with { Precision = DType.BFloat16 };
                var model = Model(root, EncoderBlock(FeedForwardActivation.Gelu, post));
                return LayerOf(MemoryModel.Estimate(model, Training(256, 2)), "EncoderBlock").ActivationBytes;
            }
            // Either order saves two norm inputs (and statistics), the attention input and the MLP input: only their order differs.
            Assert.Equal(Saved(post: false), Saved(post: true));
        }

        [Theory]
        [InlineData(FeedForwardActivation.Gelu, 2, false)]
        [InlineData(FeedForwardActivation.GeluErf, 2, false)]
        [InlineData(FeedForwardActivation.Silu, 2, false)]
        [InlineData(FeedForwardActivation.Relu, 1, false)]
        [InlineData(FeedForwardActivation.SwiGlu, 4, true)]
        [InlineData(FeedForwardActivation.GeGlu, 4, true)]
        public void Each_activation_saves_what_autograd_keeps(FeedForwardActivation activation, long innerTensors, bool gate)
        {
            const long tokens = 256 * 2;
            var root = Layer("M", true, new StackSpec("Layers", "layers", D("Layers", 1), "global::Demo.EncoderBlock", 0)) with { Precision = DType.BFloat16 };
            var estimate = MemoryModel.Estimate(Model(root, EncoderBlock(activation, postNorm: false)), Training(256, 2));
            var mlp = LayerOf(estimate, "EncoderBlock").SavedTensors.Where(t => t.Block == "Mlp" && t.Tensor != "input");
            Assert.Equal(innerTensors * tokens * Inner * 2, mlp.Sum(t => t.Bytes));
            // up and down with biases, plus gate_proj for the gated ones.
            var attention = (4 * H * H) + (4 * H);
            var norms = 4 * H;
            var ffn = (2 * H * Inner) + Inner + H + (gate ? (H * Inner) + Inner : 0);
            Assert.Equal(attention + norms + ffn, estimate.ParameterCount);
        }

        [Fact]
        public void A_sliding_window_trains_through_the_eager_core()
        {
            // No fused kernel takes a window, so a fused block with one saves the eager core's s² softmax output (bf16, no dropout).
            const long s = 512, b = 2, h = 256, a = 4;
            var root = Layer("Gpt", true, new StackSpec("H", "h", D("Layers", 1), "global::Demo.GptBlock", 0)) with { Precision = DType.BFloat16 };
            var windowed = GptBlock(h, a, fused: true, dropout: 0);
            windowed = windowed with { Blocks = windowed.Blocks.Select(x => x is AttentionSpec att ? att with { SlidingWindow = 128 } : x).ToEquatableArray() };
            var saved = LayerOf(MemoryModel.Estimate(Model(root, windowed), Training(s, b)), "GptBlock").SavedTensors;
            Assert.Equal(2 * a * s * s * b, saved.Single(t => t.Tensor == "softmax output (16-bit, computed in fp32)").Bytes);
            var plain = LayerOf(MemoryModel.Estimate(Model(root, GptBlock(h, a, fused: true, dropout: 0)), Training(s, b)), "GptBlock").SavedTensors;
            Assert.DoesNotContain(plain, t => t.Tensor.StartsWith("softmax", StringComparison.Ordinal));
        }

        [Fact]
        public void Eager_attention_transients_are_the_cores_peak_not_the_sum_of_its_temporaries()
        {
            // One bf16 eager causal layer: while the softmax runs, q·kᵀ (2 B), the fp32 working copy (4 B) and the cast probabilities
            // (2 B) per score are alive; the causal mask (s² bytes) is smaller than the cast probabilities.
            const long s = 1024, b = 2, h = 512, a = 8;
            var root = Layer("Gpt", true, new StackSpec("H", "h", D("Layers", 1), "global::Demo.GptBlock", 0)) with { Precision = DType.BFloat16 };
            var model = Model(root, GptBlock(h, a, dropout: 0));
            var walk = ModelWalk.Run(model, new Pass(b, s, s, 1, true, DeviceProfile.Cuda), false);
            var attention = Step.Expand(walk.Steps).Single(st => st.Path.EndsWith(".Attn", StringComparison.Ordinal));
            Assert.Equal(8 * a * s * s * b, attention.Temporary);

            // Prefill through a KV cache (Attention.Cached.cs): the same moment, beside the b×q×k mask of hidden keys.
            var prefill = ModelWalk.Run(model, new Pass(b, s, s, 1, false, DeviceProfile.Cuda), false);
            // q, k and v (inputs of the core, not saved in inference) are alive beside it.
            Assert.Equal((8 * a * s * s * b) + (b * s * s) + (3 * s * b * h * 2), Step.Expand(prefill.Steps).Single(st => st.Path.EndsWith(".Attn", StringComparison.Ordinal)).Temporary);
            // Fused prefill of a first chunk runs the causal kernel: no s² tensor.
            var fused = ModelWalk.Run(Model(root, GptBlock(h, a, fused: true, dropout: 0)), new Pass(b, s, s, 1, false, DeviceProfile.Cuda), false);
            Assert.True(Step.Expand(fused.Steps).Single(st => st.Path.EndsWith(".Attn", StringComparison.Ordinal)).Temporary < 16 * s * b * h);
        }
    }
}
