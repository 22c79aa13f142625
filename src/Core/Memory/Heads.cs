using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// What the model's output is, and so which logits and loss a step holds: the root's <c>[Head]</c> Linear when it declares one
    /// (an LM head: every position, cross-entropy; a classifier: one row per sequence, cross-entropy; none: no loss); otherwise the
    /// old rule, a root ending in a Linear is an LM head, or a classifier when a <c>[Pooler]</c> comes before it.
    /// </summary>
    internal static class Heads
    {
        /// <summary>Rows, columns per rank and element size of the logits the loss reads; (0, 0, 0) when no loss is counted.</summary>
        public static (long Rows, long Columns, int ElementBytes) Logits(LayerSpec root, DType precision, Pass pass)
        {
            var blocks = root.Blocks;
            var head = Head(root);
            if (head is null)
                return (0, 0, 0);
            var kind = head.Head ?? (Pooled(root, blocks.Count - 1) ? HeadKind.Classifier : HeadKind.LanguageModel);
            if (kind == HeadKind.None)
                return (0, 0, 0);
            var columns = GatheredLogits.Columns(head, root, pass);
            var rows = kind == HeadKind.Classifier ? pass.Batch : pass.Tokens;
            // Under mixed precision the head is an AutocastLinear: its logits come out in the compute dtype (docs/precision.md).
            return (rows, columns, Sizes.Of(root.Compute ?? head.Precision ?? precision));
        }

        /// <summary>
        /// Whether the training loss reads a vocabulary slice per rank: the vocab-parallel cross-entropy of a split head
        /// (<see cref="GatheredLogits"/>), whose working tensors differ from the fp32 cross-entropy's (<see cref="Phases"/>).
        /// </summary>
        public static bool SlicedLoss(LayerSpec root, Pass pass)
        {
            var head = Head(root);
            return pass.Training && head is not null && GatheredLogits.Columns(head, root, pass) < head.Out.Value;
        }

        /// <summary>The root's declared <c>[Head]</c> Linear, else its last block when that is a Linear; null otherwise.</summary>
        private static LinearSpec? Head(LayerSpec root)
        {
            var blocks = root.Blocks;
            return blocks.OfType<LinearSpec>().LastOrDefault(l => l.Head is not null)
                ?? (blocks.Count > 0 ? blocks[blocks.Count - 1] as LinearSpec : null);
        }

        /// <summary>
        /// Whether the block at <paramref name="index"/> reads one row per sequence: a classifier head, or a Linear or Dropout declared
        /// after a <c>[Pooler]</c> of the same layer (the pooled <c>[batch, hidden]</c> tensor).
        /// </summary>
        public static bool Pooled(LayerSpec layer, int index)
        {
            if (layer.Blocks[index] is LinearSpec { Head: HeadKind.Classifier })
                return true;
            if (layer.Blocks[index] is not (LinearSpec or DropoutSpec))
                return false;
            for (var i = 0; i < index; i++)
            {
                if (layer.Blocks[i] is PoolerSpec)
                    return true;
            }
            return false;
        }
    }
}
