using System.Collections.Generic;
using System.Runtime.CompilerServices;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// Turns a layer's analyzed <see cref="ForwardBody"/> into the walker's order and steps: block calls in the order the body
    /// makes them (a primitive block called again counts its activations again, never its weights), the body's own ops as steps
    /// of their own, and a block the body never calls visibly at its declared place, right after the block declared before it
    /// (its weights exist; counting its activations too keeps the estimate on the safe side). Without a body: every block once,
    /// in declaration order.
    /// </summary>
    internal static class ForwardSteps
    {
        /// <summary>One entry of the walk: the block at <paramref name="Block"/> (again, when <paramref name="Repeat"/>), or an op.</summary>
        /// <remarks>A class, not a struct: a list of a struct is compiled just in time in every compiler process.</remarks>
        internal sealed record Entry(int Block, bool Repeat, ForwardOp? Op, long Times = 1);

        // Per layer spec (by reference: specs are immutable), computed once: the remedy search and the catalog fit estimate a
        // hundred variants of one model, each sharing all but one layer spec with the declared model, and a model that leaves
        // most of its declared blocks out of its Forward costs a quadratic number of insertions per order.
        private static readonly ConditionalWeakTable<LayerSpec, IReadOnlyList<Entry>> Orders = new();

        /// <summary>The entries of <paramref name="layer"/> in the order they run.</summary>
        public static IReadOnlyList<Entry> Order(LayerSpec layer) => Orders.GetValue(layer, static l => Compute(l));

        private static List<Entry> Compute(LayerSpec layer)
        {
            var order = new List<Entry>();
            var called = new bool[layer.Blocks.Count];
            if (layer.Body is { } body)
            {
                foreach (var call in body.Calls)
                {
                    if (call.Op is { } op)
                    {
                        order.Add(new Entry(-1, false, op));
                        continue;
                    }
                    var index = IndexOf(layer, call.Block);
                    if (index < 0)
                        continue;
                    var primitive = layer.Blocks[index] is not (LayerRefSpec or StackSpec);
                    var times = primitive ? call.Times : 1; // a block in a counted loop runs once per repeat (docs/forward-analysis.md)
                    if (!called[index])
                    {
                        called[index] = true;
                        order.Add(new Entry(index, false, null));
                        if (times > 1)
                            order.Add(new Entry(index, true, null, times - 1));
                    }
                    else if (primitive && times > 0)
                    {
                        order.Add(new Entry(index, true, null, times));
                    }
                }
            }
            // A block the body does not visibly call keeps its declared place: right after the block declared before it.
            for (var i = 0; i < called.Length; i++)
            {
                if (called[i])
                    continue;
                var at = i == 0 ? 0 : order.FindIndex(e => e.Op is null && !e.Repeat && e.Block == i - 1) + 1;
                order.Insert(at, new Entry(i, false, null));
            }
            return order;
        }

        /// <summary>The step of one op of a layer's body running at the layer's compute dtype.</summary>
        /// <param name="op">The op.</param>
        /// <param name="path">The layer instance's path.</param>
        /// <param name="precision">The layer's precision (the body runs on the input cast to it).</param>
        /// <param name="pass">Shapes and mode.</param>
        /// <param name="shareReplicated">Sequence parallelism in a sharded layer: tensors outside the parallel region divide by the ranks too.</param>
        /// <param name="saved">The layer's saved-tensor list, extended with the op's.</param>
        public static Step OpStep(ForwardOp op, string path, DType precision, Pass pass, bool shareReplicated, List<SavedTensor> saved)
        {
            var d = Sizes.Of(precision);
            var step = new Step { Path = path + "." + op.Call };
            long Bytes(ForwardTensor t)
            {
                var bytes = t.Bytes(pass.Batch, pass.Queries, d, pass.Ranks, pass.Device.DropoutMaskIsBoolean);
                return !t.Sharded && shareReplicated ? Sizes.Share(bytes, pass.Ranks) : bytes;
            }
            foreach (var tensor in op.Temporaries)
                step.Temporary = checked(step.Temporary + Bytes(tensor));
            if (pass.Training)
            {
                foreach (var tensor in op.Saved)
                {
                    var bytes = checked(Bytes(tensor) * op.Times);
                    step.Kept = checked(step.Kept + bytes);
                    saved.Add(new SavedTensor(op.Call, tensor.Name, bytes));
                }
            }
            return step;
        }

        /// <summary>A primitive block called a second time: its activations again, no weights and no gradients of its own.</summary>
        public static Step RepeatStep(BlockSpec block, int d, string path, Pass pass, long width, bool selective, bool shareReplicated, List<SavedTensor> saved, DType? compute = null, long times = 1)
        {
            var step = new Step { Path = path };
            foreach (var created in AutocastForward.Of(block, compute, d, pass, width, selective))
            {
                var bytes = created.Replicated && shareReplicated ? Sizes.Share(created.Bytes, pass.Ranks) : created.Bytes;
                if (created.Saved)
                {
                    bytes = checked(bytes * times);
                    step.Kept += bytes;
                    saved.Add(new SavedTensor(block.Name, created.Name + (times > 1 ? $" (again, {times}×)" : " (again)"), bytes));
                }
                else if (created.Recomputed)
                {
                    step.Recompute += bytes;
                }
                else if (!created.ReturnedByCheckpoint)
                {
                    step.Temporary += bytes;
                }
            }
            return step;
        }

        private static int IndexOf(LayerSpec layer, string? name)
        {
            for (var i = 0; i < layer.Blocks.Count; i++)
            {
                if (layer.Blocks[i].Name == name)
                    return i;
            }
            return -1;
        }
    }
}
