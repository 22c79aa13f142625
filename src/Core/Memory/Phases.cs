using System.Collections.Generic;
using System.Linq;

namespace ModelGen.Memory
{
    /// <summary>
    /// The phase peaks of a steady-state training step (gradients exist in every phase). Training: forward (kept activations
    /// grow step by step, then the loss), backward (steps in reverse: kept activations shrink; a checkpointed step recomputes its
    /// activations), optimizer step. Inference:
    /// prefill over the prompt and one decode step, both beside the full KV cache.
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
            var (columns, d) = walk.Logits;
            var logits = pass.Tokens * columns;
            // Cross-entropy in fp32 (Precision.CrossEntropyFp32): logits, their fp32 copy when 16-bit, the saved log-probabilities.
            var lossForward = logits * (d + (d < Sizes.Fp32 ? Sizes.Fp32 : 0) + Sizes.Fp32);
            // Backward of the loss: logits and log-probabilities still alive, plus the gradients of both.
            var lossBackward = logits * (d + Sizes.Fp32 + Sizes.Fp32 + d);

            // TorchSharp's optimizers zero gradients in place (OptimizerHelper.zero_grad), so from the first backward on every
            // trainable tensor keeps its gradient through every phase of every later step: the steady state this estimates.
            var gradients = states.ShardGradients(walk.GradientBytes);
            Point At(long activations, long transients) =>
                new(states.Weights, gradients + states.MasterGradients, states.Optimizer, activations, transients, 0);

            var kept = 0L;
            var forward = At(0, 0);
            foreach (var step in walk.Steps)
            {
                forward = Max(forward, At(kept, step.Temporary));
                kept += step.Kept;
            }
            forward = Max(forward, At(kept, lossForward));

            var backward = At(kept, lossBackward);
            for (var i = walk.Steps.Count - 1; i >= 0; i--)
            {
                var step = walk.Steps[i];
                // The step's parameter gradients are computed as new tensors, then added into the existing .grad in place.
                backward = Max(backward, At(kept + step.Recompute, step.Temporary + step.Gradients));
                kept -= step.Kept;
            }

            // The training loop still holds the logits until its per-step dispose scope ends, and the last checkpointed region to
            // run backward (the first in forward order) still holds the gradients it returned: ModelGen's Checkpoint frees the
            // wrappers of returned gradients at the next region's recompute, so the last region's live until that scope ends.
            var optimizerStep = At(0, states.StepTemporaries + (logits * d) + (walk.Steps.FirstOrDefault(s => s.ReturnedGradients > 0)?.ReturnedGradients ?? 0));
            return new List<(string, Point)>
            {
                (MemoryPhases.Forward, forward),
                (MemoryPhases.Backward, backward),
                (MemoryPhases.OptimizerStep, optimizerStep),
            };
        }

        public static (string Phase, Point Point) Inference(string phase, ModelWalk walk, ModelStates states, Pass pass, long kvCache)
        {
            var (columns, d) = walk.Logits;
            var best = new Point(states.Weights, 0, 0, 0, 0, kvCache);
            var last = 0L;
            foreach (var step in walk.Steps)
            {
                best = Max(best, new Point(states.Weights, 0, 0, step.Input, step.Temporary, kvCache));
                last = step.Input;
            }
            // The model returns logits for every position computed in this pass.
            best = Max(best, new Point(states.Weights, 0, 0, last, pass.Tokens * columns * d, kvCache));
            return (phase, best);
        }

        private static Point Max(Point a, Point b) => b.Total > a.Total ? b : a;
    }
}
