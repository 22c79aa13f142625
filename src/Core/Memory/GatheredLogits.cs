using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// Which logits the training loss of a vocab-parallel head reads per rank, and what gathering them costs. A head whose
    /// vocabulary is split over the <c>t</c> tensor-parallel ranks (a column-parallel head, or one tied to a vocab-parallel
    /// embedding) gives each rank <c>V/t</c> logits; the generated <c>CreateTraining</c> trains on them with the vocab-parallel
    /// cross-entropy (Shoeybi et al. 2019, §3), unless the plan says its loss needs all of them
    /// (<see cref="ScenarioSpec.GatheredLogits"/>): then the head all-gathers <c>b·s·V</c> logits on every rank, and the loss's fp32
    /// copy, log-probabilities and gradients are <c>V</c> wide too.
    /// </summary>
    public static class GatheredLogits
    {
        /// <summary>
        /// True when <paramref name="root"/>'s output head splits the vocabulary over tensor-parallel ranks: a column-sharded head
        /// Linear (of the model class, not consumed by a row-parallel Linear of the same size), or a head tied to a vocab-sharded
        /// embedding. The same rule the generator reads from the attributes (LayerParser.VocabParallelHead).
        /// </summary>
        /// <param name="root">The <c>[Model]</c> class's layer.</param>
        public static bool ShardsVocabulary(LayerSpec root) => Vocabulary(root) > 0;

        /// <summary>The vocabulary <c>V</c> of <paramref name="root"/>'s vocab-parallel head; 0 when its head does not split the vocabulary.</summary>
        /// <param name="root">The <c>[Model]</c> class's layer.</param>
        public static long Vocabulary(LayerSpec root)
        {
            if (root is null)
                throw new System.ArgumentNullException(nameof(root));
            var head = Head(root);
            return head is not null && Splits(head, root) ? head.Out.Value : 0;
        }

        /// <summary>
        /// Logit columns per rank the loss reads: <c>V/t</c> for a head whose output is split over the ranks (column- or vocab-sharded,
        /// or tied to a vocab-parallel embedding), unless the plan gathers a vocab-parallel head's logits; <c>V</c> otherwise.
        /// </summary>
        internal static long Columns(LinearSpec head, LayerSpec root, Pass pass)
        {
            var split = head.Shard is ShardStyle.Column or ShardStyle.Vocab || (head.TiedTo is not null && Splits(head, root));
            if (!split || (pass.GatheredLogits && Splits(head, root)))
                return head.Out.Value;
            return Sizes.Share(head.Out.Value, pass.Ranks);
        }

        /// <summary>
        /// Bytes per rank the peak grows by when the loss reads the gathered logits instead of the vocab-parallel cross-entropy's
        /// slice, for <paramref name="scenario"/> (a training scenario at tensor parallelism &gt; 1); 0 when the head is not vocab-parallel.
        /// Both numbers come from <see cref="MemoryModel.Estimate"/>, so this is exactly what the opt-in adds to MG0001's estimate.
        /// </summary>
        /// <exception cref="System.ArgumentException">The scenario or a size is invalid (from the memory model).</exception>
        public static long ExtraBytes(ModelSpec model, ScenarioSpec scenario, DeviceProfile? device = null)
        {
            if (model is null)
                throw new System.ArgumentNullException(nameof(model));
            if (scenario is null)
                throw new System.ArgumentNullException(nameof(scenario));
            if (scenario.Workload != Workload.Training || scenario.TensorParallel <= 1 || !ShardsVocabulary(model.Root))
                return 0;
            var gathered = MemoryModel.Estimate(model, scenario with { GatheredLogits = true }, device).PeakBytes;
            var sliced = MemoryModel.Estimate(model, scenario with { GatheredLogits = false }, device).PeakBytes;
            return gathered - sliced;
        }

        /// <summary>The head the loss reads, as <see cref="Heads.Logits"/> picks it.</summary>
        private static LinearSpec? Head(LayerSpec root)
        {
            var blocks = root.Blocks;
            return blocks.OfType<LinearSpec>().LastOrDefault(l => l.Head is not null)
                ?? (blocks.Count > 0 ? blocks[blocks.Count - 1] as LinearSpec : null);
        }

        private static bool Splits(LinearSpec head, LayerSpec root)
        {
            if (head.TiedTo is { } owner)
                return root.Blocks.Any(b => b.Name == owner && b is EmbeddingSpec { Shard: ShardStyle.Vocab });
            if (head.Shard is not (ShardStyle.Column or ShardStyle.Vocab))
                return false;
            // A column-parallel Linear that a row-parallel one of the same layer consumes is an inner projection, not the head.
            return !root.Blocks.Any(b => b is LinearSpec { Shard: ShardStyle.Row } row && row.In == head.Out);
        }
    }
}
