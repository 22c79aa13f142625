using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    /// <summary>
    /// Releases the C# handles a tensor-parallel backward function is given and returns, as soon as the autograd engine holds its
    /// own references. TorchSharp 0.107 wraps each incoming gradient in a new handle registered on the thread's current dispose
    /// scope (during <c>loss.backward()</c>, the caller's training-step scope), and the gradients a backward returns live in that
    /// scope too: left there, every region's gradients stay resident until the step ends instead of being freed as backward moves
    /// on (with sequence parallelism, 74 MiB more on the tp2-sp memory check). The engine copies the returned tensors into its own
    /// buffers before it calls the next node, so a returned handle is disposed when the next ModelGen backward on the same thread
    /// starts; whatever the last one returned stays in the caller's scope, which frees it at the step's end as before.
    /// </summary>
    internal static class BackwardHandles
    {
        [ThreadStatic] private static List<Tensor>? t_returned;

        /// <summary>Call first in every backward: disposes the handles the previous ModelGen backward on this thread returned.</summary>
        public static void ReleaseReturned()
        {
            var returned = t_returned;
            if (returned is null || returned.Count == 0)
                return;
            foreach (var tensor in returned)
                tensor.Dispose(); // only this handle: the engine's references keep the gradient alive while it is needed
            returned.Clear();
        }

        /// <summary>
        /// Moves <paramref name="gradients"/> (created in the backward's own scope) to the caller's scope, remembers them for
        /// <see cref="ReleaseReturned"/>, and disposes <paramref name="gradOutput"/>'s handle now unless it is returned itself.
        /// </summary>
        public static List<Tensor> Return(Tensor gradOutput, List<Tensor> gradients)
        {
            var returned = t_returned ??= new List<Tensor>();
            var passesThrough = false;
            foreach (var gradient in gradients)
            {
                if (gradient is null)
                    continue;
                if (ReferenceEquals(gradient, gradOutput))
                    passesThrough = true; // already in the caller's scope
                else
                    gradient.MoveToOuterDisposeScope();
                returned.Add(gradient);
            }
            if (!passesThrough)
                gradOutput.Dispose();
            return gradients;
        }
    }
}
