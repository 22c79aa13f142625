using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace ModelGen
{
    /// <summary>
    /// Exceptions raised inside ModelGen's custom autograd backward functions, held until the backward pass is over.
    /// TorchSharp ends the process when an exception crosses its native autograd engine, so a backward that fails records
    /// the exception here, returns no gradient, and lets the engine finish; the exception then surfaces as an ordinary .NET
    /// exception from <see cref="Backward"/>, from <see cref="ThrowIfAny"/>, or at the latest from the next forward of a ModelGen
    /// layer that checks (the quantized Linear does), so a failed backward is never silently followed by an optimizer step
    /// on wrong gradients.
    /// </summary>
    public static class BackwardFaults
    {
        private static readonly object Gate = new();
        private static readonly List<Exception> Pending = new();

        /// <summary>Whether a backward failure is waiting to be thrown.</summary>
        public static bool HasPending
        {
            get
            {
                lock (Gate)
                    return Pending.Count > 0;
            }
        }

        /// <summary>Runs <c>loss.backward()</c>, then throws any failure a ModelGen backward recorded during it.</summary>
        /// <exception cref="BackwardFailedException">A ModelGen backward failed; the gradients of this pass are incomplete.</exception>
        public static void Backward(Tensor loss)
        {
            ArgumentNullException.ThrowIfNull(loss);
            loss.backward();
            ThrowIfAny();
        }

        /// <summary>Throws (and clears) the recorded failures, if any.</summary>
        /// <exception cref="BackwardFailedException">A ModelGen backward failed; the gradients of that pass are incomplete.</exception>
        public static void ThrowIfAny()
        {
            Exception[] faults;
            lock (Gate)
            {
                if (Pending.Count == 0)
                    return;
                faults = Pending.ToArray();
                Pending.Clear();
            }

            throw new BackwardFailedException(faults);
        }

        /// <summary>Records a failure caught inside a backward function.</summary>
        internal static void Record(string where, Exception exception)
        {
            lock (Gate)
                Pending.Add(new InvalidOperationException($"{where} failed in backward: {exception.Message}", exception));
        }
    }

    /// <summary>One or more ModelGen backward functions failed; the gradients of that backward pass are incomplete and must not be used.</summary>
    public sealed class BackwardFailedException : AggregateException
    {
        /// <summary>Creates the exception from the recorded failures.</summary>
        public BackwardFailedException(IEnumerable<Exception> faults)
            : base("A ModelGen autograd backward failed, so this backward pass's gradients are incomplete (do not take an optimizer step with them); see the inner exceptions.", faults)
        {
        }
    }
}
