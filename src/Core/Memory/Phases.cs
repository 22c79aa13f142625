using System;
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

        /// <summary>
        /// A phase's name and peak. A class rather than a tuple: a list of tuples over the <see cref="Point"/> struct is a generic
        /// instantiation the runtime compiles just in time in every compiler process that runs the analyzers, a list of a class is not.
        /// </summary>
        internal sealed class PhasePoint
        {
            public PhasePoint(string phase, Point point)
            {
                Phase = phase;
                Point = point;
            }

            public string Phase { get; }

            public Point Point { get; }
        }

        public static List<PhasePoint> Training(ModelWalk walk, ModelStates states, Pass pass)
        {
            var (rows, columns, d) = walk.Logits;
            var logits = rows * columns;
            // Cross-entropy in fp32 (Precision.CrossEntropyFp32): logits, their fp32 copy when 16-bit, the saved log-probabilities.
            var lossForward = logits * (d + (d < Sizes.Fp32 ? Sizes.Fp32 : 0) + Sizes.Fp32);
            // Backward of the loss: logits and log-probabilities still alive, plus the gradients of both; log_softmax's backward
            // produces its gradient in fp32 (the dtype it ran in), cast to the logits' dtype only after the log-probabilities are freed.
            var lossBackward = logits * (d + Sizes.Fp32 + Sizes.Fp32 + Sizes.Fp32);

            Point At(long gradients, long activations, long transients) =>
                new(states.Weights, gradients, states.Optimizer, activations, transients, 0);

            // ModelGen's Checkpoint frees the wrappers of the gradients a region returned to the engine at the next region's recompute
            // or forward, so the last region to run backward (the first in forward order) holds its gradients from its backward until
            // the next step's first checkpointed forward.
            var firstRegion = FirstRegion(walk.Steps);
            var held = firstRegion?.ReturnedGradients ?? 0;

            // Data parallel without ZeRO: DDP's gradient buckets hold the gradients' bytes from the step's start (0 otherwise).
            var buckets = states.BucketGradients;
            var forward = new Forward(walk, At(buckets, 0, held), buckets, held, firstRegion is not null, At);
            forward.Walk(walk.Steps);
            var kept = forward.Kept;
            var forwardPeak = Max(forward.Peak, At(buckets, kept, lossForward));

            var backward = new Backward(walk, states, At(buckets, kept, lossBackward), buckets, kept, At);
            backward.Walk(walk.Steps);
            var produced = backward.Produced;

            // The optimizer step: the fold starts from every gradient backward produced and ends with the fp32 main gradients; the loop
            // still holds the logits until its per-step dispose scope ends.
            var loopHeld = (logits * d) + held;
            var optimizerStep = Max(
                At(System.Math.Max(produced, buckets), 0, states.FoldTemporaries + loopHeld),
                At(states.FoldedGradients + states.BucketAfterFold, 0, System.Math.Max(states.StepTemporaries, states.FoldTemporaries) + loopHeld));
            return new List<PhasePoint>
            {
                new(MemoryPhases.Forward, forwardPeak),
                new(MemoryPhases.Backward, backward.Peak),
                new(MemoryPhases.OptimizerStep, optimizerStep),
            };
        }

        public static PhasePoint Inference(string phase, ModelWalk walk, ModelStates states, Pass pass, long kvCache)
        {
            var (rows, columns, d) = walk.Logits;
            var best = new Point(states.Weights, 0, 0, 0, 0, kvCache);
            // Inference walks are flat, one step per block instance (ModelWalk keeps runs for training only), because what the
            // dispose scopes hold depends on each instance's place (ScopeRetention).
            var last = 0L;
            var held = ScopeRetention.Held(walk.Steps); // outputs the generated forwards' dispose scopes still hold
            // The largest prefill tile is held through the pass (a tile from the previous chunk is still held at its first step).
            var tile = 0L;
            foreach (var step in walk.Steps)
                tile = Math.Max(tile, step.PrefillTile);
            for (var k = 0; k < walk.Steps.Count; k++)
            {
                var step = walk.Steps[k];
                walk.StepsVisited++;
                best = Max(best, new Point(states.Weights, 0, 0, step.Input + held[k], step.Temporary + tile, kvCache));
                last = step.Input;
            }
            // The model returns logits for every position computed in this pass.
            best = Max(best, new Point(states.Weights, 0, 0, last, rows * columns * d + tile, kvCache));
            return new PhasePoint(phase, best);
        }

        private static Point Max(Point a, Point b) => b.Total > a.Total ? b : a;

        /// <summary>The first single step, in forward order, that is a checkpointed region (returns gradients), or null.</summary>
        private static Step? FirstRegion(List<Step> steps)
        {
            foreach (var step in steps)
            {
                var found = step.Body is { } body ? (step.Count > 0 ? FirstRegion(body) : null) : step.ReturnedGradients > 0 ? step : null;
                if (found is not null)
                    return found;
            }
            return null;
        }

        private delegate Point PointAt(long gradients, long activations, long transients);

        /// <summary>
        /// The forward peak: kept activations grow step by step. A run of n repetitions is visited twice, its first and its last
        /// repetition, with the n − 2 between added in one multiplication: kept bytes never shrink in forward, so a step's total is
        /// largest in the last repetition, except for the held gradients, which only steps before the first region carry (all
        /// in the first repetition when the run holds a region; the same in every repetition when it does not).
        /// </summary>
        private sealed class Forward
        {
            private readonly ModelWalk _walk;
            private readonly long _buckets;
            private readonly long _held;
            private readonly PointAt _at;
            private bool _beforeFirstRegion;

            public Forward(ModelWalk walk, Point start, long buckets, long held, bool hasRegion, PointAt at)
            {
                _walk = walk;
                Peak = start;
                _buckets = buckets;
                _held = held;
                _beforeFirstRegion = hasRegion;
                _at = at;
            }

            public Point Peak { get; private set; }

            public long Kept { get; private set; }

            public void Walk(List<Step> steps)
            {
                foreach (var step in steps)
                {
                    if (step.Body is not { } body)
                    {
                        _walk.StepsVisited++;
                        if (step.ReturnedGradients > 0)
                            _beforeFirstRegion = false;
                        Peak = Max(Peak, _at(_buckets, Kept, step.Temporary + (_beforeFirstRegion ? _held : 0)));
                        Kept += step.Kept;
                        continue;
                    }
                    if (step.Count <= 0)
                        continue;
                    Walk(body);
                    if (step.Count == 1)
                        continue;
                    Kept += (step.Count - 2) * Step.Sum(body, s => s.Kept);
                    Walk(body);
                }
            }
        }

        /// <summary>
        /// The backward peak: steps in reverse, gradients appearing and kept activations shrinking. A step's total in repetition r of a
        /// run is the larger of (gradients produced, DDP buckets) — convex in r — plus kept bytes — linear in r — so it is largest in the
        /// first or the last repetition: those two are visited, the n − 2 between added in one multiplication.
        /// </summary>
        private sealed class Backward
        {
            private readonly ModelWalk _walk;
            private readonly long _buckets;
            private readonly PointAt _at;
            private readonly ModelStates _states;

            public Backward(ModelWalk walk, ModelStates states, Point start, long buckets, long kept, PointAt at)
            {
                _walk = walk;
                _states = states;
                Peak = start;
                _buckets = buckets;
                Kept = kept;
                _at = at;
            }

            public Point Peak { get; private set; }

            public long Kept { get; private set; }

            public long Produced { get; private set; }

            /// <param name="steps">The steps, walked from the last.</param>
            /// <param name="inStack">True inside a run (a [Stack]'s instances): ZeRO-3 shrinks their gradients after each backward.</param>
            public void Walk(List<Step> steps, bool inStack = false)
            {
                for (var i = steps.Count - 1; i >= 0; i--)
                {
                    var step = steps[i];
                    if (step.Body is not { } body)
                    {
                        _walk.StepsVisited++;
                        // The step's parameter gradients are new tensors (transients) until the engine makes them the parameters' gradients.
                        Peak = Max(Peak, _at(System.Math.Max(Produced, _buckets), Kept + step.Recompute, step.Temporary + step.Gradients));
                        Kept -= step.Kept;
                        Produced += _states.GradientsAfterBackward(step.Gradients, inStack);
                        // After a checkpointed region returns, the engine copies its gradients into the parameters' while the region's
                        // wrappers still hold the originals.
                        if (step.ReturnedGradients > 0)
                            Peak = Max(Peak, _at(System.Math.Max(Produced, _buckets), Kept, step.ReturnedGradients));
                        continue;
                    }
                    if (step.Count <= 0)
                        continue;
                    Walk(body, true);
                    if (step.Count == 1)
                        continue;
                    Kept -= (step.Count - 2) * Step.Sum(body, s => s.Kept);
                    Produced += (step.Count - 2) * _states.GradientsAfterBackward(Step.Sum(body, s => s.Gradients), true);
                    Walk(body, true);
                }
            }
        }
    }
}
