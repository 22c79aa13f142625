using System;
using System.Collections.Generic;

namespace ModelGen.Memory
{
    /// <summary>
    /// One unit of execution order: a primitive block, or a whole fully checkpointed layer instance (which backward handles as one).
    /// Bytes are per rank. A run is a step with a <see cref="Body"/>: those steps <see cref="Count"/> times back to back (the instances
    /// of a [Stack]), kept once, so a stack of a million layers is one run of a few steps, not a million steps.
    /// </summary>
    internal sealed class Step
    {
        /// <summary>For a run, the steps of one repetition in execution order; null for a single step.</summary>
        public List<Step>? Body { get; set; }

        /// <summary>How many times <see cref="Body"/> runs back to back (1 for a single step).</summary>
        public long Count { get; set; } = 1;

        /// <summary>Where it is, e.g. <c>Llama.Blocks[3]</c> or <c>Llama.Head</c>.</summary>
        public string Path { get; set; } = "";

        /// <summary>Stored bytes of its parameters (for streaming when parameters are offloaded).</summary>
        public long Weights { get; set; }

        /// <summary>Gradient bytes its backward produces (trainable parameters at their dtype).</summary>
        public long Gradients { get; set; }

        /// <summary>Saved bytes kept from its forward until its backward (a checkpointed layer: its input).</summary>
        public long Kept { get; set; }

        /// <summary>Saved bytes recreated during its backward (a checkpointed layer's activations, a selective core).</summary>
        public long Recompute { get; set; }

        /// <summary>Temporaries alive while it runs; the same bound is used for its backward's gradient tensors.</summary>
        public long Temporary { get; set; }

        /// <summary>
        /// Bytes of the bf16 prefill tile this block's quantized projections use (<see cref="PrefillTile"/>), held by the thread
        /// from the first such call to the end of the pass, not freed with the block: <see cref="Phases.Inference"/> adds the largest
        /// to every step. 0 when the block uses none.
        /// </summary>
        public long PrefillTile { get; set; }

        /// <summary>Bytes of its input tensor (the residual stream entering it), alive beside its temporaries.</summary>
        public long Input { get; set; }

        /// <summary>
        /// For a checkpointed region (a fully checkpointed layer instance, or a selectively checkpointed attention core): the
        /// gradients ModelGen's <c>Checkpoint</c> hands back to the engine (its parameters' and its input's). Their managed
        /// wrappers are freed at the next region's recompute or forward, so the last region to run backward keeps them through the
        /// optimizer step until the next step's first checkpointed forward.
        /// </summary>
        public long ReturnedGradients { get; set; }

        /// <summary>A copy of this single step at another path (an instance of a stack in an inference walk).</summary>
        public Step Clone(string path) => new()
        {
            Path = path, Weights = Weights, Gradients = Gradients, Kept = Kept, Recompute = Recompute, Temporary = Temporary, Input = Input,
            ReturnedGradients = ReturnedGradients,
        };

        /// <summary>The sum of <paramref name="term"/> over every step <paramref name="steps"/> stand for, runs counted as often as they repeat.</summary>
        public static long Sum(List<Step> steps, Func<Step, long> term)
        {
            long total = 0;
            foreach (var step in steps)
                total += step.Body is { } body ? step.Count * Sum(body, term) : term(step);
            return total;
        }

        /// <summary>The largest <paramref name="term"/> of any single step (0 when there is none).</summary>
        public static long Max(List<Step> steps, Func<Step, long> term)
        {
            long best = 0;
            foreach (var step in steps)
                best = Math.Max(best, step.Body is { } body ? Max(body, term) : term(step));
            return best;
        }

        /// <summary>Every single step, runs repeated as often as they run: as long as the model has block instances, so for tests only.</summary>
        public static IEnumerable<Step> Expand(List<Step> steps)
        {
            foreach (var step in steps)
            {
                if (step.Body is not { } body)
                {
                    yield return step;
                    continue;
                }
                for (var i = 0L; i < step.Count; i++)
                {
                    foreach (var inner in Expand(body))
                        yield return inner;
                }
            }
        }

        /// <summary>The first single step in execution order, or null.</summary>
        public static Step? First(List<Step> steps)
        {
            foreach (var step in steps)
            {
                var first = step.Body is { } body ? (step.Count > 0 ? First(body) : null) : step;
                if (first is not null)
                    return first;
            }
            return null;
        }
    }
}
