using System.Collections.Generic;

namespace ModelGen.Memory
{
    /// <summary>
    /// The phase peaks. Training: forward (kept activations grow step by step, then the loss), backward (steps in reverse: kept
    /// activations shrink while gradients grow; a checkpointed step recomputes its activations), optimizer step. Inference:
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

            Point At(long gradients, long activations, long transients) =>
                new(states.Weights, gradients + states.MasterGradients, states.Optimizer, activations, transients, 0);

            var kept = 0L;
            var forward = At(0, 0, 0);
            foreach (var step in walk.Steps)
            {
                forward = Max(forward, At(0, kept, step.Temporary));
                kept += step.Kept;
            }
            forward = Max(forward, At(0, kept, lossForward));

            var backward = At(0, kept, lossBackward);
            var gradients = 0L;
            for (var i = walk.Steps.Count - 1; i >= 0; i--)
            {
                var step = walk.Steps[i];
                var current = states.ShardGradients(gradients) + step.Gradients;
                backward = Max(backward, At(current, kept + step.Recompute, step.Temporary));
                gradients += step.Gradients;
                kept -= step.Kept;
            }

            var optimizerStep = At(states.ShardGradients(gradients), 0, states.StepTemporaries);
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
