using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Training
{
    /// <summary>What one call of a ZeRO-3 layer needs in backward: the body, its parameters and the random state of its forward.</summary>
    internal sealed class ZeroLayerCall(Func<Tensor, Tensor> body, PartitionedParameters parameters, bool inputNeedsGrad)
    {
        public Func<Tensor, Tensor> Body { get; } = body;

        public PartitionedParameters Parameters { get; } = parameters;

        public bool InputNeedsGrad { get; } = inputNeedsGrad;

        public RngSnapshot? Rng { get; set; }

        /// <summary>Gathers the layer expected to run after this one in the forward on the prefetch thread; null without one.</summary>
        public Action? PrefetchNext { get; init; }

        /// <summary>Gathers the layer that ran before this one (the next in backward) on the prefetch thread; null without one.</summary>
        public Action? PrefetchPrevious { get; init; }
    }

    /// <summary>
    /// The autograd node of a ZeRO-3 layer. Arguments to <c>apply</c>: the <see cref="ZeroLayerCall"/>, the input, then the layer's
    /// partitions. Forward: gather the layer's parameters, run it without a graph, free them. Backward: gather them again, recompute
    /// the forward with a graph (the layer is also activation-checkpointed: nothing but its input is kept), take the gradients of
    /// the input and the whole parameters, reduce-scatter the parameters' gradients into each rank's partition (the engine
    /// accumulates them into the partitions' <c>.grad</c>), free the parameters.
    /// </summary>
    /// <remarks>A failure in backward is recorded in <see cref="BackwardFailures"/>, never thrown into the native engine.</remarks>
    internal sealed class ZeroLayerFunction : autograd.MultiTensorFunction<ZeroLayerFunction>
    {
        private const string CallKey = "ModelGen.ZeroLayerCall";

        /// <inheritdoc/>
        public override string Name => "ModelGen.ZeroLayer";

        /// <inheritdoc/>
        public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var call = (ZeroLayerCall)vars[0];
            var input = (Tensor)vars[1];
            call.Rng = RngSnapshot.CaptureForForward(input.device);
            call.Parameters.Gather();
            call.PrefetchNext?.Invoke();
            Tensor output;
            try {
                output = call.Body(input);
            } finally {
                call.Parameters.Release();
            }
            ctx.save_for_backward([input]);
            ctx.save_data(CallKey, call);
            ctx.set_materialize_grads(false);
            return [output];
        }

        /// <inheritdoc/>
        public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
        {
            var call = (ZeroLayerCall)ctx.get_data(CallKey);
            var partitions = call.Parameters.Partitions.Count();
            var gradients = Enumerable.Repeat<Tensor>(null!, 2 + partitions).ToList();
            try {
                Recompute(ctx, call, grad_outputs[0], gradients);
            } catch (Exception exception) {
                BackwardFailures.Record(new InvalidOperationException("The backward of a ZeRO-3 layer failed: " + exception.Message, exception));
                for (var i = 0; i < gradients.Count; i++)
                    gradients[i] = null!;
            } finally {
                call.Parameters.Release();
                foreach (var gradOutput in grad_outputs)
                    gradOutput?.Dispose();
            }
            return gradients;
        }

        private static void Recompute(autograd.AutogradContext ctx, ZeroLayerCall call, Tensor? gradOutput, List<Tensor> gradients)
        {
            ReturnedGradients.Release();
            var members = call.Parameters.Members.ToArray();
            using var scope = NewDisposeScope();
            List<Tensor?> parameterGradients;
            Tensor? inputGradient = null;
            if (gradOutput is null || gradOutput.IsInvalid) {
                // The output did not reach the loss; every rank still joins the reduce-scatter below.
                parameterGradients = members.Select(_ => (Tensor?)null).ToList();
            } else {
                call.Parameters.Gather();
                call.PrefetchPrevious?.Invoke();
                var input = ctx.get_saved_variables()[0].detach();
                if (call.InputNeedsGrad)
                    input.requires_grad_(true);
                Tensor output;
                using (call.Rng!.ReplayForRecompute(input.device))
                using (enable_grad())
                    output = call.Body(input);
                var inputs = new List<Tensor>();
                if (call.InputNeedsGrad)
                    inputs.Add(input);
                var trainable = members.Where(m => m.requires_grad).ToArray();
                inputs.AddRange(trainable);
                var computed = output.requires_grad
                    ? autograd.grad([output], inputs, [gradOutput], allow_unused: true)
                    : inputs.Select(_ => (Tensor)null!).ToList();
                var next = 0;
                if (call.InputNeedsGrad)
                    inputGradient = computed[next++];
                var byMember = new Dictionary<Tensor, Tensor?>(ReferenceEqualityComparer.Instance);
                foreach (var member in trainable)
                    byMember[member] = computed[next++] is { IsInvalid: false } g ? g : null;
                parameterGradients = members.Select(m => byMember.TryGetValue(m, out var g) ? g : null).ToList();
            }
            var mine = call.Parameters.ReduceScatter(parameterGradients);
            if (inputGradient is { IsInvalid: false })
                gradients[1] = Keep(scope, inputGradient);
            for (var i = 0; i < mine.Count; i++)
                gradients[2 + i] = Keep(scope, mine[i]);
        }

        private static Tensor Keep(DisposeScope scope, Tensor gradient)
        {
            scope.Detach(gradient);
            ReturnedGradients.Defer(gradient);
            return gradient;
        }
    }
}
