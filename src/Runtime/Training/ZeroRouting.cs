using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Threading;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Training
{
    /// <summary>
    /// The hook between a generated layer's <c>forward</c> and the <see cref="ZeroStage3"/> engine that partitions it. The engine
    /// attaches itself to each of its layers; a generated <c>forward</c> asks <see cref="Routes"/> first and, when a ZeRO-3 engine
    /// owns the layer, runs through <see cref="Forward(nn.Module{Tensor, Tensor}, Tensor)"/> (or <see cref="Forward{TResult}"/>), which gathers the layer's parameters around the call (and around its
    /// backward). Inside that call the layer's own forward runs as usual: the engine marks the layer as running, so the hook
    /// answers false there and the call does not loop.
    /// </summary>
    /// <remarks>Called by generated code; a hand-written model calls <see cref="ZeroStage3.Forward(nn.Module{Tensor, Tensor}, Tensor)"/> itself.</remarks>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static class ZeroRouting
    {
        private static readonly ConditionalWeakTable<nn.Module, ZeroStage3> s_engines = new();
        private static readonly HashSet<nn.Module> s_running = new(ReferenceEqualityComparer.Instance);
        private static readonly object s_lock = new();
        private static int s_attached;

        /// <summary>True when a ZeRO-3 engine owns <paramref name="layer"/> and the layer is not already running inside it.</summary>
        /// <param name="layer">The layer whose <c>forward</c> was called.</param>
        public static bool Routes(nn.Module layer)
        {
            // Most processes never build a ZeRO-3 engine: one read, no lock.
            if (Volatile.Read(ref s_attached) == 0 || layer is null || !s_engines.TryGetValue(layer, out _))
                return false;
            lock (s_lock)
                return !s_running.Contains(layer);
        }

        /// <summary>Runs <paramref name="layer"/> through the ZeRO-3 engine that owns it (<see cref="ZeroStage3.Forward(nn.Module{Tensor, Tensor}, Tensor)"/>).</summary>
        /// <param name="layer">A layer for which <see cref="Routes"/> is true.</param>
        /// <param name="input">Its input.</param>
        /// <exception cref="InvalidOperationException">No ZeRO-3 engine owns the layer.</exception>
        public static Tensor Forward(nn.Module<Tensor, Tensor> layer, Tensor input)
        {
            ArgumentNullException.ThrowIfNull(layer);
            return EngineOf(layer).Forward(layer, input);
        }

        /// <summary>
        /// Runs a layer whose forward takes several tensors or returns a tuple or a record through the ZeRO-3 engine that owns it
        /// (<see cref="ZeroStage3.Forward{TResult}"/>); <paramref name="body"/> calls the layer again, and the hook answers false
        /// inside it, so the layer's own forward computes.
        /// </summary>
        /// <typeparam name="TResult">The layer's result type.</typeparam>
        /// <param name="layer">A layer for which <see cref="Routes"/> is true.</param>
        /// <param name="inputs">Its inputs in order (null: left out).</param>
        /// <param name="body">Calls the layer on the inputs.</param>
        /// <param name="outputs">The tensors of a result in a fixed order.</param>
        /// <param name="rebuild">The result with its tensors replaced by the given ones.</param>
        /// <exception cref="InvalidOperationException">No ZeRO-3 engine owns the layer.</exception>
        public static TResult Forward<TResult>(nn.Module layer, Tensor?[] inputs, Func<Tensor?[], TResult> body, Func<TResult, Tensor?[]> outputs,
            Func<TResult, Tensor?[], TResult> rebuild)
        {
            ArgumentNullException.ThrowIfNull(layer);
            ArgumentNullException.ThrowIfNull(body);
            return EngineOf(layer).Forward(layer, inputs, body, outputs, rebuild);
        }

        private static ZeroStage3 EngineOf(nn.Module layer) => s_engines.TryGetValue(layer, out var engine) ? engine
            : throw new InvalidOperationException($"No ZeRO-3 engine owns layer {layer.GetName()}; call ZeroRouting.Forward only when Routes is true.");

        internal static void ThrowIfOwned(nn.Module layer)
        {
            if (s_engines.TryGetValue(layer, out _))
                throw new ArgumentException($"Layer {layer.GetName()} already belongs to another ZeroStage3; dispose that one first.", nameof(layer));
        }

        internal static void Attach(nn.Module layer, ZeroStage3 engine)
        {
            if (!s_engines.TryAdd(layer, engine))
                throw new ArgumentException($"Layer {layer.GetName()} already belongs to another ZeroStage3; dispose that one first.", nameof(layer));
            Interlocked.Increment(ref s_attached);
        }

        internal static void Detach(nn.Module layer, ZeroStage3 engine)
        {
            if (s_engines.TryGetValue(layer, out var owner) && ReferenceEquals(owner, engine)) {
                s_engines.Remove(layer);
                Interlocked.Decrement(ref s_attached);
            }
        }

        /// <summary>Runs <paramref name="run"/> (a call of <paramref name="layer"/>) with the hook off for the layer, so that its forward computes instead of routing again.</summary>
        internal static T RunBody<T>(nn.Module layer, Func<T> run)
        {
            bool added;
            lock (s_lock)
                added = s_running.Add(layer);
            try {
                return run();
            } finally {
                if (added)
                    lock (s_lock)
                        s_running.Remove(layer);
            }
        }
    }
}
