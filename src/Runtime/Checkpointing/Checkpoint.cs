using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen
{
    /// <summary>
    /// Activation checkpointing (Chen et al. 2016, "Training Deep Nets with Sublinear Memory Cost"): a region keeps
    /// only its input during the forward pass and recomputes its activations in the backward pass.
    /// Generated code wraps the <c>forward</c> of a <c>[Checkpoint]</c> layer in <see cref="Run(nn.Module, Func{Tensor, Tensor}, Tensor)"/>;
    /// selective checkpointing wraps only the attention core with <see cref="Run(IEnumerable{Parameter}, Func{Tensor, Tensor}, Tensor)"/>.
    /// </summary>
    /// <remarks>
    /// <para>Gradients are identical to the plain forward's: the recompute replays the random stream of the forward
    /// (dropout draws the same mask), and the random stream seen after the step is the one a plain forward would leave.
    /// On CPU this is exact (the generator state is saved and restored). TorchSharp cannot read or set a CUDA generator's
    /// state, only seed it, so for a CUDA input the region draws a seed from the input device's generator, seeds every CUDA
    /// device with it before the forward and again before the recompute, then reseeds with a seed drawn just before the
    /// recompute. Dropout masks therefore still match between forward and recompute, the stream stays reproducible
    /// for a fixed <c>torch.manual_seed</c>, but the CUDA numbers drawn after a checkpointed region differ from the ones a
    /// run without checkpointing would draw.</para>
    /// <para>Rules for the body: it must compute the same shapes every time it is called and must not keep tensors it creates
    /// (its temporaries are disposed when the forward returns, as inside any dispose scope). Double backward
    /// (<c>create_graph: true</c>) through a checkpointed region is not supported.</para>
    /// <para>Memory: the region holds its input until backward. The gradients it hands back to the engine stay referenced by
    /// their C# wrappers until the next checkpointed backward or forward on the same thread releases them, so at most one
    /// region's gradients are held twice at any time.</para>
    /// </remarks>
    public static class Checkpoint
    {
        /// <summary>
        /// Runs <paramref name="body"/> (normally <c>owner</c>'s own forward) on <paramref name="input"/> as a checkpointed region:
        /// the activations are not kept, they are recomputed in backward; gradients reach <paramref name="input"/> and every
        /// trainable parameter of <paramref name="owner"/>.
        /// </summary>
        /// <param name="owner">The module whose parameters <paramref name="body"/> uses.</param>
        /// <param name="body">The computation to checkpoint; it is called once in the forward and once more in backward.</param>
        /// <param name="input">The region's input; the only tensor kept until backward.</param>
        /// <returns>The body's output, connected to the autograd graph.</returns>
        public static Tensor Run(nn.Module owner, Func<Tensor, Tensor> body, Tensor input)
        {
            ArgumentNullException.ThrowIfNull(owner);
            return Run(owner.parameters(), body, input);
        }

        /// <summary>
        /// Runs <paramref name="body"/> on <paramref name="input"/> as a checkpointed region whose trainable weights are
        /// <paramref name="parameters"/> (empty for a weightless region such as an attention core). With grad mode off,
        /// or when neither the input nor any parameter requires grad, this is just <c>body(input)</c>.
        /// </summary>
        /// <param name="parameters">Every parameter <paramref name="body"/> reads; those that require grad receive gradients.</param>
        /// <param name="body">The computation to checkpoint; it is called once in the forward and once more in backward.</param>
        /// <param name="input">The region's input; the only tensor kept until backward.</param>
        /// <returns>The body's output, connected to the autograd graph.</returns>
        /// <exception cref="ArgumentNullException">An argument is null.</exception>
        /// <exception cref="ArgumentException">The input or a parameter is null or disposed.</exception>
        /// <exception cref="InvalidOperationException">The body returned no tensor, or one that cannot carry a gradient.</exception>
        /// <exception cref="BackwardException">A checkpoint's recompute failed in the previous backward and nobody asked
        /// <see cref="BackwardFailures"/> since.</exception>
        public static Tensor Run(IEnumerable<Parameter> parameters, Func<Tensor, Tensor> body, Tensor input)
        {
            ArgumentNullException.ThrowIfNull(parameters);
            ArgumentNullException.ThrowIfNull(body);
            ArgumentNullException.ThrowIfNull(input);
            if (input.IsInvalid)
                throw new ArgumentException("Checkpoint.Run was given a disposed input tensor.", nameof(input));

            ReturnedGradients.Release();
            // A failure of the last backward must not be lost if the caller did not ask for it before the next forward.
            BackwardFailures.ThrowIfAny();

            // Inference (and frozen regions) pay nothing: no node, no RNG bookkeeping.
            if (!is_grad_enabled())
                return body(input);
            var trainable = TrainableParameters(parameters);
            if (!input.requires_grad && trainable.Length == 0)
                return body(input);

            var region = new CheckpointRegion(body, trainable, input.requires_grad);
            var arguments = new object[2 + trainable.Length];
            arguments[0] = region;
            arguments[1] = input;
            trainable.CopyTo(arguments, 2);

            // TorchSharp's node allocates an uninitialized copy of every output (torch.empty_like) as a template for
            // missing gradients; this scope frees it at once, with the body's temporaries, so the region really keeps only its input.
            using var scope = NewDisposeScope();
            var output = CheckpointFunction.apply(arguments)[0];
            return scope.MoveToOuter(output);
        }

        /// <summary>The distinct parameters that require grad, after checking each one is usable.</summary>
        private static Parameter[] TrainableParameters(IEnumerable<Parameter> parameters)
        {
            var trainable = new List<Parameter>();
            var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
            foreach (var parameter in parameters) {
                if (parameter is null)
                    throw new ArgumentException("Checkpoint.Run was given a null parameter.", nameof(parameters));
                if (parameter.IsInvalid)
                    throw new ArgumentException("Checkpoint.Run was given a disposed parameter.", nameof(parameters));
                // A tied weight listed twice must be passed once, or the engine would accumulate its gradient twice.
                if (parameter.requires_grad && seen.Add(parameter))
                    trainable.Add(parameter);
            }
            return trainable.ToArray();
        }
    }
}
