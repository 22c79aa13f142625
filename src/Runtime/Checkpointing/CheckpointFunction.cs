using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen
{
    /// <summary>
    /// The autograd node behind <see cref="Checkpoint"/>. Arguments to <c>apply</c>: the <see cref="CheckpointRegion"/>
    /// (not a tensor, so it gets no edge), the input, then the region's trainable parameters. Passing the parameters as
    /// inputs makes the node executable even when the input needs no gradient and lets their gradients flow through the
    /// engine like any other op's.
    /// </summary>
    /// <remarks>
    /// TorchSharp keeps one instance of a function type for every call, so nothing per call lives in fields.
    /// An exception thrown from <see cref="backward"/> cannot cross the native engine and ends the process, so
    /// <see cref="Checkpoint.Run(System.Collections.Generic.IEnumerable{TorchSharp.Modules.Parameter}, Func{Tensor, Tensor}, Tensor)"/>
    /// and <see cref="forward"/> validate everything that can be validated, and a failure in the recompute is caught, recorded in
    /// <see cref="BackwardFailures"/> and raised as a <see cref="BackwardException"/> after backward.
    /// </remarks>
    internal sealed class CheckpointFunction : autograd.MultiTensorFunction<CheckpointFunction>
    {
        private const string RegionKey = "ModelGen.CheckpointRegion";
        private const int InputIndex = 1;
        private const int FirstParameterIndex = 2;

        /// <inheritdoc />
        public override string Name => "ModelGen.Checkpoint";

        /// <summary>Runs the body without a graph (apply has turned grad mode off) and keeps only the input.</summary>
        public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var region = (CheckpointRegion)vars[0];
            var input = (Tensor)vars[InputIndex];

            region.Rng = RngSnapshot.CaptureForForward(input.device);
            var output = region.Body(input);
            // Throwing here is safe: forward runs on the caller's managed stack, not inside the engine.
            if (output is null)
                throw new InvalidOperationException("The checkpointed body returned null; it must return a tensor.");
            if (output.IsInvalid)
                throw new InvalidOperationException("The checkpointed body returned a disposed tensor.");
            if (!output.is_floating_point() && !output.is_complex())
                throw new InvalidOperationException(
                    $"The checkpointed body returned a {output.dtype} tensor; a checkpointed region must return a floating-point tensor so gradients can flow through it.");

            region.OutputShape = output.shape;
            region.OutputType = output.dtype;
            // The native saved variable holds its own reference: the caller's dispose scope may free the input's wrapper.
            ctx.save_for_backward([input]);
            ctx.save_data(RegionKey, region);
            // Missing output gradients arrive undefined instead of being built from TorchSharp's output template,
            // which Checkpoint.Run frees right after the forward.
            ctx.set_materialize_grads(false);
            return [output];
        }

        /// <summary>Recomputes the body with grad on and returns the gradients for the input and every parameter.</summary>
        public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
        {
            try {
                return Recompute(ctx, grad_outputs);
            } catch (Exception exception) {
                // Nothing may cross the native engine: record the failure, give the engine no gradient for this node, and let
                // BackwardFailures raise it once backward has returned.
                BackwardFailures.Record(new InvalidOperationException(
                    "Recomputing a checkpointed region in backward failed: " + exception.Message, exception));
                var none = new List<Tensor>(grad_outputs.Count + FirstParameterIndex);
                var region = ctx.get_data(RegionKey) as CheckpointRegion;
                for (var i = 0; i < FirstParameterIndex + (region?.Parameters.Length ?? 0); i++)
                    none.Add(null!);
                return none;
            } finally {
                // The engine created these wrappers for this call only; freeing them now releases the incoming
                // gradient as soon as the engine is done with it rather than when the garbage collector runs.
                foreach (var gradOutput in grad_outputs)
                    gradOutput?.Dispose();
            }
        }

        private static List<Tensor> Recompute(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
        {
            ReturnedGradients.Release();

            var region = (CheckpointRegion)ctx.get_data(RegionKey);
            var gradients = new List<Tensor>(FirstParameterIndex + region.Parameters.Length);
            for (var i = 0; i < FirstParameterIndex + region.Parameters.Length; i++)
                gradients.Add(null!);

            var gradOutput = grad_outputs[0];
            if (gradOutput is null || gradOutput.IsInvalid)
                return gradients; // The output did not reach the loss: every gradient is zero.

            using var scope = NewDisposeScope();
            var saved = ctx.get_saved_variables()[0];
            var input = saved.detach();
            if (region.InputNeedsGrad)
                input.requires_grad_(true);

            Tensor output;
            using (region.Rng!.ReplayForRecompute(input.device))
            using (enable_grad())
                output = region.Body(input);

            if (!output.shape.SequenceEqual(region.OutputShape) || output.dtype != region.OutputType)
                throw new InvalidOperationException(
                    $"The checkpointed body returned {output.dtype}[{string.Join(", ", output.shape)}] when recomputed but " +
                    $"{region.OutputType}[{string.Join(", ", region.OutputShape)}] in the forward; a checkpointed body must compute the same shapes every time.");
            if (!output.requires_grad)
                return gradients; // The output depends on nothing trainable.

            var inputs = new List<Tensor>(1 + region.Parameters.Length);
            if (region.InputNeedsGrad)
                inputs.Add(input);
            inputs.AddRange(region.Parameters);
            var computed = autograd.grad([output], inputs, [gradOutput], allow_unused: true);

            var next = 0;
            if (region.InputNeedsGrad)
                gradients[InputIndex] = Keep(scope, computed[next++]);
            for (var i = 0; i < region.Parameters.Length; i++)
                gradients[FirstParameterIndex + i] = Keep(scope, computed[next++]);
            return gradients;
        }

        /// <summary>Takes a gradient out of the backward's scope; an unused input's undefined gradient becomes null.</summary>
        private static Tensor Keep(DisposeScope scope, Tensor gradient)
        {
            if (gradient is null || gradient.IsInvalid)
                return null!;
            scope.Detach(gradient);
            ReturnedGradients.Defer(gradient);
            return gradient;
        }
    }
}
