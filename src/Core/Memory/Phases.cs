using System.Collections.Generic;
using System.Linq;

namespace ModelGen.Memory
{
    /// <summary>
    /// The phase peaks of a steady-state training step with ModelGen's optimizers: forward (no gradients: the last step freed
    /// them; kept activations grow step by step, then the loss), backward (steps in reverse: gradients appear as each step's
    /// backward produces them, kept activations shrink, a checkpointed step recomputes its activations), optimizer step (the
    /// gradients folded into fp32 main gradients, then the update). Inference: prefill over the prompt and one decode step, both
    /// beside the full KV cache.
    /// </summary>
    internal static class Phases
    {
        /// <summary>Term values before overhead: weights, gradients, optimizer, activations, transients, kv cache.</summary>
        internal readonly record struct Point(long Weights, long Gradients, long Optimizer, long Activations, long Transients, long KvCache)
        {
            public long Total => Weights + Gradients + Optimizer + Activations + Transients + KvCache;
        }

        public static List<(string Phase, Point Point)> Training(ModelWalk walk, ModelStates states, Pass pass)
        {
            var (rows, columns, d) = walk.Logits;
            var logits = rows * columns;
            // Cross-entropy in fp32 (Precision.CrossEntropyFp32): logits, their fp32 copy when 16-bit, the saved log-probabilities.
            var lossForward = logits * (d + (d < Sizes.Fp32 ? Sizes.Fp32 : 0) + Sizes.Fp32);
            // Backward of the loss: logits and log-probabilities still alive, plus the gradients of both.
            var lossBackward = logits * (d + Sizes.Fp32 + Sizes.Fp32 + d);

            Point At(long gradients, long activations, long transients) =>
                new(states.Weights, gradients, states.Optimizer, activations, transients, 0);

            // ModelGen's Checkpoint frees the wrappers of the gradients a region returned to the engine at the next region's recompute
            // or forward, so the last region to run backward (the first in forward order) holds its gradients from its backward until
            // the next step's first checkpointed forward.
            var firstRegion = walk.Steps.FindIndex(s => s.ReturnedGradients > 0);
            var held = firstRegion < 0 ? 0 : walk.Steps[firstRegion].ReturnedGradients;

            var kept = 0L;
            // Data parallel without ZeRO: DDP's gradient buckets hold the gradients' bytes from the step's start (0 otherwise).
            var buckets = states.BucketGradients;
            var forward = At(buckets, 0, held);
            for (var i = 0; i < walk.Steps.Count; i++)
            {
                var step = walk.Steps[i];
                forward = Max(forward, At(buckets, kept, step.Temporary + (i < firstRegion ? held : 0)));
                kept += step.Kept;
            }
            forward = Max(forward, At(buckets, kept, lossForward));

            var backward = At(buckets, kept, lossBackward);
            var produced = 0L;
            for (var i = walk.Steps.Count - 1; i >= 0; i--)
            {
                var step = walk.Steps[i];
                // The step's parameter gradients are new tensors (transients) until the engine makes them the parameters' gradients.
                backward = Max(backward, At(System.Math.Max(produced, buckets), kept + step.Recompute, step.Temporary + step.Gradients));
                kept -= step.Kept;
                produced += step.Gradients;
                // After a checkpointed region returns, the engine copies its gradients into the parameters' while the region's
                // wrappers still hold the originals.
                if (step.ReturnedGradients > 0)
                    backward = Max(backward, At(System.Math.Max(produced, buckets), kept, step.ReturnedGradients));
            }

            // The optimizer step: the fold starts from every gradient backward produced and ends with the fp32 main gradients; the loop
            // still holds the logits until its per-step dispose scope ends.
            var loopHeld = (logits * d) + held;
            var optimizerStep = Max(
                At(System.Math.Max(produced, buckets), 0, states.FoldTemporaries + loopHeld),
                At(states.FoldedGradients + states.BucketAfterFold, 0, System.Math.Max(states.StepTemporaries, states.FoldTemporaries) + loopHeld));
            return new List<(string, Point)>
            {
                (MemoryPhases.Forward, forward),
                (MemoryPhases.Backward, backward),
                (MemoryPhases.OptimizerStep, optimizerStep),
            };
        }

        public static (string Phase, Point Point) Inference(string phase, ModelWalk walk, ModelStates states, Pass pass, long kvCache)
        {
            var (rows, columns, d) = walk.Logits;
            var best = new Point(states.Weights, 0, 0, 0, 0, kvCache);
            var last = 0L;
            var held = ScopeRetention.Held(walk.Steps); // outputs the generated forwards' dispose scopes still hold
            for (var k = 0; k < walk.Steps.Count; k++)
            {
                var step = walk.Steps[k];
                best = Max(best, new Point(states.Weights, 0, 0, step.Input + held[k], step.Temporary, kvCache));
                last = step.Input;
            }
            // The model returns logits for every position computed in this pass.
            best = Max(best, new Point(states.Weights, 0, 0, last, rows * columns * d, kvCache));
            return (phase, best);
        }

        private static Point Max(Point a, Point b) => b.Total > a.Total ? b : a;
    }
}
