using System;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen
{
    /// <summary>
    /// The state of one checkpointed call, handed to the shared <see cref="CheckpointFunction"/> as a non-tensor argument
    /// and kept in the autograd context until the node is freed (the function object itself is a singleton).
    /// </summary>
    internal sealed class CheckpointRegion
    {
        internal CheckpointRegion(Func<Tensor, Tensor> body, Parameter[] parameters, bool inputNeedsGrad)
        {
            Body = body;
            Parameters = parameters;
            InputNeedsGrad = inputNeedsGrad;
        }

        /// <summary>The checkpointed computation.</summary>
        internal Func<Tensor, Tensor> Body { get; }

        /// <summary>The distinct parameters that require grad, in the order they were passed to <c>apply</c>.</summary>
        internal Parameter[] Parameters { get; }

        /// <summary>Whether the caller's input required grad, so backward returns a gradient for it.</summary>
        internal bool InputNeedsGrad { get; }

        /// <summary>The random state captured just before the forward ran the body; set by the forward.</summary>
        internal RngSnapshot? Rng { get; set; }

        /// <summary>Shape of the forward's output, checked against the recompute.</summary>
        internal long[] OutputShape { get; set; } = [];

        /// <summary>Element type of the forward's output, checked against the recompute.</summary>
        internal ScalarType OutputType { get; set; }
    }
}
