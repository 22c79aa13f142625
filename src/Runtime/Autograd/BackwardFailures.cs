using System;
using System.Collections.Generic;

namespace ModelGen
{
    /// <summary>
    /// Failures inside ModelGen's C# autograd backward functions (a checkpoint's recompute, a quantized Linear, a ZeRO-3 layer,
    /// gradients folded during backward). TorchSharp 0.107 ends the process when
    /// an exception crosses its native autograd engine, so a backward catches everything, records it here, hands the engine no
    /// gradient for that node, and backward runs to its end. The failure then surfaces as a <see cref="BackwardException"/> from
    /// <see cref="Backward"/>, from <see cref="ThrowIfAny"/>, from the next checkpointed or quantized forward, or from ModelGen's
    /// optimizers, which refuse to step on the incomplete gradients. Every such function records here: one mechanism, one exception.
    /// </summary>
    /// <remarks>Process-wide, because the engine runs a backward on its own threads for device tensors.</remarks>
    public static class BackwardFailures
    {
        private static readonly object s_gate = new();
        private static readonly List<Exception> s_pending = [];

        /// <summary>Runs <c>loss.backward()</c>, then throws a <see cref="BackwardException"/> if any backward function failed.</summary>
        /// <param name="loss">The scalar to differentiate.</param>
        /// <exception cref="BackwardException">A ModelGen backward function failed; the gradients are incomplete.</exception>
        public static void Backward(TorchSharp.torch.Tensor loss)
        {
            ArgumentNullException.ThrowIfNull(loss);
            loss.backward();
            ThrowIfAny();
        }

        /// <summary>Whether a failure is waiting to be thrown.</summary>
        public static bool HasPending
        {
            get
            {
                lock (s_gate)
                    return s_pending.Count > 0;
            }
        }

        /// <summary>Throws (and forgets) the failures recorded since the last call, if any.</summary>
        /// <exception cref="BackwardException">A ModelGen backward function failed; the gradients are incomplete.</exception>
        public static void ThrowIfAny()
        {
            Exception[] failures;
            lock (s_gate) {
                if (s_pending.Count == 0)
                    return;
                failures = s_pending.ToArray();
                s_pending.Clear();
            }
            throw new BackwardException(failures);
        }

        /// <summary>Records a failure caught inside a backward function; never throws.</summary>
        internal static void Record(Exception exception)
        {
            lock (s_gate)
                s_pending.Add(exception);
        }
    }

    /// <summary>
    /// A ModelGen autograd backward function (a checkpoint's recompute, a quantized Linear, …) failed during <c>backward()</c>. The engine finished without
    /// that node's gradients, so the gradients of this step are incomplete: zero them and do not step.
    /// </summary>
    public sealed class BackwardException : Exception
    {
        /// <summary>Wraps the failures of one backward pass; the first is the inner exception.</summary>
        /// <param name="failures">What each failing backward function threw.</param>
        public BackwardException(IReadOnlyList<Exception> failures)
            : base(Describe(failures), failures.Count > 0 ? failures[0] : null)
        {
            Failures = failures;
        }

        /// <summary>Every failure of the pass, in the order they happened.</summary>
        public IReadOnlyList<Exception> Failures { get; }

        private static string Describe(IReadOnlyList<Exception> failures) =>
            $"{failures.Count} ModelGen backward function(s) failed during backward(), so this step's gradients are incomplete " +
            $"(zero them and skip the step). First: {(failures.Count > 0 ? failures[0].Message : "")}";
    }
}
