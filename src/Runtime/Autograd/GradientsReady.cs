using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen
{
    /// <summary>
    /// An identity on a module's input whose backward runs once gradients have flowed through the whole module: by then
    /// autograd has accumulated the module's parameter gradients (the engine runs gradient accumulation before any other
    /// ready node), so the callback can use them while backward goes on with the modules below. TorchSharp 0.107 has no
    /// <c>Tensor.register_hook</c> nor post-accumulate-grad hooks, which PyTorch's DDP and FSDP use; a forward pre-hook that
    /// routes the module's input through this function is the nearest equivalent it offers. Data parallel starts a gradient
    /// bucket's all-reduce here, and the optimizers fold (and reduce-scatter) a module's gradients here.
    /// </summary>
    /// <remarks>
    /// The output is a view of the input, so no activation is copied. A module whose input needs no gradient (the first one,
    /// fed with data) never triggers it. The callback runs inside the native engine, where an exception would end the process:
    /// it must not throw (record failures in <see cref="BackwardFailures"/> or with its owner).
    /// </remarks>
    internal sealed class GradientsReady : autograd.SingleTensorFunction<GradientsReady>
    {
        private const string CallbackKey = "ModelGen.GradientsReady";

        /// <summary>Routes <paramref name="input"/> through the marker; <paramref name="onBackward"/> runs when its gradient arrives.</summary>
        public static Tensor Mark(Tensor input, Action onBackward) => apply(onBackward, input);

        /// <inheritdoc/>
        public override string Name => "ModelGen.GradientsReady";

        /// <inheritdoc/>
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            // The callback is not a tensor, so it gets no edge in the graph.
            ctx.save_data(CallbackKey, vars[0]);
            var input = (Tensor)vars[1];
            return input.view_as(input);
        }

        /// <inheritdoc/>
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            ((Action)ctx.get_data(CallbackKey))();
            return [null!, grad_output];
        }
    }
}
