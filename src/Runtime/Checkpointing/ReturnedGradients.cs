using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace ModelGen
{
    /// <summary>
    /// Gradients a checkpoint backward hands to the autograd engine. The engine copies the native reference only after the
    /// C# backward has returned, so their wrappers cannot be disposed there; they are released by the next checkpointed
    /// forward or backward on the same thread (the engine runs a node's backward on one thread, and has certainly taken its
    /// copy by then). Without this, each wrapper would pin an activation-sized gradient until the garbage collector ran.
    /// </summary>
    internal static class ReturnedGradients
    {
        [ThreadStatic]
        private static List<Tensor>? s_pending;

        /// <summary>Keeps <paramref name="gradient"/> alive past the backward that returns it.</summary>
        internal static void Defer(Tensor gradient)
        {
            (s_pending ??= []).Add(gradient);
        }

        /// <summary>Disposes the wrappers deferred by an earlier backward on this thread.</summary>
        internal static void Release()
        {
            var pending = s_pending;
            if (pending is null || pending.Count == 0)
                return;
            foreach (var gradient in pending)
                gradient.Dispose();
            pending.Clear();
        }
    }
}
