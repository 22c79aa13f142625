using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen
{
    /// <summary>
    /// Activation checkpointing of a forward with several inputs and several outputs (docs/attributes.md, "Forward"): the
    /// generated forward of a layer whose <c>Forward</c> takes ids, masks or hidden states and returns a tuple or a record runs
    /// through here when <c>CheckpointActivations</c> is set. It keeps every input (null ones are skipped), recomputes the body
    /// in backward, and hands back gradients for the floating-point inputs that require them and for the owner's parameters.
    /// Integer outputs (argmax predictions) are returned without gradients; the same rules as
    /// <see cref="Checkpoint.Run(nn.Module, Func{Tensor, Tensor}, Tensor)"/> apply to the body.
    /// </summary>
    public static class ForwardCheckpoint
    {
        /// <summary>Runs <paramref name="body"/> on <paramref name="inputs"/> as one checkpointed region of <paramref name="owner"/>.</summary>
        /// <typeparam name="TResult">The forward's result: a tuple or a record of tensors.</typeparam>
        /// <param name="owner">The module whose parameters the body uses.</param>
        /// <param name="body">The user's forward over the inputs, in order (a null entry is an input the caller left out).</param>
        /// <param name="inputs">The inputs, already cast to the layer's precision where they are floating-point.</param>
        /// <param name="outputs">The tensor members of a result, in a fixed order (a null entry is a member left null).</param>
        /// <param name="rebuild">The result with its tensor members replaced by the given ones (same order, same nulls).</param>
        /// <returns>The body's result whose tensors are connected to the autograd graph through the checkpoint.</returns>
        /// <exception cref="ArgumentException">An input or parameter is disposed, or no input is given.</exception>
        /// <exception cref="InvalidOperationException">The body returned no tensor or a disposed one.</exception>
        public static TResult Run<TResult>(nn.Module owner, Func<Tensor?[], TResult> body, Tensor?[] inputs,
            Func<TResult, Tensor?[]> outputs, Func<TResult, Tensor?[], TResult> rebuild)
        {
            ArgumentNullException.ThrowIfNull(owner);
            ArgumentNullException.ThrowIfNull(body);
            ArgumentNullException.ThrowIfNull(inputs);
            ArgumentNullException.ThrowIfNull(outputs);
            ArgumentNullException.ThrowIfNull(rebuild);
            var present = inputs.Where(t => t is not null).Select(t => t!).ToArray();
            if (present.Length == 0)
                throw new ArgumentException("ForwardCheckpoint.Run needs at least one input tensor.", nameof(inputs));
            if (present.Any(t => t.IsInvalid))
                throw new ArgumentException("ForwardCheckpoint.Run was given a disposed input tensor.", nameof(inputs));

            ReturnedGradients.Release();
            BackwardFailures.ThrowIfAny();
            var trainable = owner.parameters().Where(p => p.requires_grad).Distinct<TorchSharp.Modules.Parameter>(ReferenceEqualityComparer.Instance).ToArray();
            if (!is_grad_enabled() || (!present.Any(t => t.requires_grad) && trainable.Length == 0))
                return body(inputs);
            if (trainable.Any(p => p.IsInvalid))
                throw new ArgumentException("ForwardCheckpoint.Run: the owner has a disposed parameter.", nameof(owner));

            var region = new ForwardRegion(given =>
                {
                    var result = body(given);
                    return (result, outputs(result));
                }, inputs.Select(t => t is not null).ToArray(),
                present.Select(t => t.requires_grad).ToArray(), trainable);
            var arguments = new object[1 + present.Length + trainable.Length];
            arguments[0] = region;
            present.CopyTo(arguments, 1);
            trainable.CopyTo(arguments, 1 + present.Length);

            // As in Checkpoint.Run: this scope frees TorchSharp's output templates and the body's temporaries at once.
            using var scope = NewDisposeScope();
            var connected = ForwardCheckpointFunction.apply(arguments);
            var first = region.FirstResult!;
            region.FirstResult = null;
            var rebuilt = new Tensor?[region.OutputPresent.Length];
            for (int i = 0, next = 0; i < rebuilt.Length; i++)
                rebuilt[i] = region.OutputPresent[i] ? scope.MoveToOuter(connected[next++]) : null;
            // The first result object is only a carrier of non-tensor members: its tensors are replaced by the node's outputs.
            return rebuild((TResult)first, rebuilt);
        }
    }

    /// <summary>The state of one <see cref="ForwardCheckpoint"/> call, kept in the autograd context (the function is a singleton).</summary>
    internal sealed class ForwardRegion
    {
        internal ForwardRegion(Func<Tensor?[], (object? Result, Tensor?[] Outputs)> body, bool[] inputPresent, bool[] inputNeedsGrad, TorchSharp.Modules.Parameter[] parameters)
        {
            Body = body;
            InputPresent = inputPresent;
            InputNeedsGrad = inputNeedsGrad;
            Parameters = parameters;
        }

        /// <summary>The body from inputs (with nulls) to its result and that result's tensors (with nulls).</summary>
        internal Func<Tensor?[], (object? Result, Tensor?[] Outputs)> Body { get; }

        /// <summary>Which of the caller's inputs were given.</summary>
        internal bool[] InputPresent { get; }

        /// <summary>For each given input, whether it required grad.</summary>
        internal bool[] InputNeedsGrad { get; }

        /// <summary>The distinct trainable parameters, as passed to <c>apply</c>.</summary>
        internal TorchSharp.Modules.Parameter[] Parameters { get; }

        /// <summary>Which outputs the forward returned (not null).</summary>
        internal bool[] OutputPresent { get; set; } = [];

        /// <summary>Shapes and dtypes of the returned outputs, checked against the recompute.</summary>
        internal (long[] Shape, ScalarType Type)[] OutputMeta { get; set; } = [];

        /// <summary>The forward's result object until <see cref="ForwardCheckpoint.Run{TResult}"/> rebuilds it.</summary>
        internal object? FirstResult { get; set; }

        /// <summary>The random state captured before the forward ran the body.</summary>
        internal RngSnapshot? Rng { get; set; }

        /// <summary>The inputs in the caller's order, with nulls where none was given.</summary>
        internal Tensor?[] Spread(IReadOnlyList<Tensor> present)
        {
            var inputs = new Tensor?[InputPresent.Length];
            for (int i = 0, next = 0; i < inputs.Length; i++)
                inputs[i] = InputPresent[i] ? present[next++] : null;
            return inputs;
        }
    }
}
