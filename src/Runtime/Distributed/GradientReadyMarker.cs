using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Distributed
{
    /// <summary>
    /// An identity on a layer's input whose backward runs once gradients have flowed through the whole layer: by then
    /// autograd has accumulated the layer's parameter gradients (the engine runs gradient accumulation before any other
    /// ready node), so their bucket can start its all-reduce while backward continues with the layers below.
    /// TorchSharp 0.107 has no <c>Tensor.register_hook</c> nor post-accumulate-grad hooks, which PyTorch's DDP uses; a
    /// forward pre-hook that routes the input through this function is the nearest equivalent it offers.
    /// </summary>
    /// <remarks>
    /// Arguments to <c>apply</c>: the <see cref="LayerUse"/> (not a tensor, so it gets no edge), then the input. The output
    /// is a view of the input, so no activation is copied. A layer whose input needs no gradient (the first layer, fed
    /// with data) never triggers it; its bucket starts in <see cref="DistributedDataParallel.SynchronizeGradients"/>.
    /// An exception cannot cross TorchSharp's native engine, so backward catches everything and hands it to the layer's
    /// owner, which rethrows it from <see cref="DistributedDataParallel.SynchronizeGradients"/>.
    /// </remarks>
    internal sealed class GradientReadyMarker : autograd.SingleTensorFunction<GradientReadyMarker>
    {
        private const string UseKey = "ModelGen.LayerUse";

        /// <inheritdoc/>
        public override string Name => "ModelGen.GradientReady";

        /// <inheritdoc/>
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            ctx.save_data(UseKey, vars[0]);
            var input = (Tensor)vars[1];
            return input.view_as(input);
        }

        /// <inheritdoc/>
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            var use = (LayerUse)ctx.get_data(UseKey);
            use.BackwardDone();
            return new List<Tensor> { null!, grad_output };
        }
    }

    /// <summary>One forward use of a hooked layer, whose backward completion <see cref="GradientReadyMarker"/> reports.</summary>
    internal sealed class LayerUse
    {
        private readonly Action<int> _done;
        private readonly int _layer;

        public LayerUse(Action<int> done, int layer)
        {
            _done = done;
            _layer = layer;
        }

        /// <summary>Called inside the autograd engine: must not throw (the owner stashes its own failures).</summary>
        public void BackwardDone() => _done(_layer);
    }
}
