using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace ModelGen
{
    /// <summary>What the generated forward of a tuple or record result calls to hand its tensors to the caller.</summary>
    public static class ForwardOutputs
    {
        /// <summary>
        /// Moves each distinct non-null tensor one dispose scope out (the caller's), as the single-tensor forward's
        /// <c>MoveToOuterDisposeScope()</c> does; a tensor that appears twice (logits also returned as hidden states) moves once.
        /// </summary>
        /// <param name="outputs">The result's tensor members.</param>
        public static void MoveOut(params Tensor?[] outputs)
        {
            ArgumentNullException.ThrowIfNull(outputs);
            var moved = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
            foreach (var output in outputs)
            {
                if (output is not null && moved.Add(output))
                    output.MoveToOuterDisposeScope();
            }
        }
    }
}
