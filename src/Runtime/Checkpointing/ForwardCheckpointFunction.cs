using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen
{
    /// <summary>
    /// The autograd node behind <see cref="ForwardCheckpoint"/>. Arguments to <c>apply</c>: the <see cref="ForwardRegion"/>,
    /// the given inputs in order, then the trainable parameters. Like <see cref="CheckpointFunction"/> it never throws from
    /// <see cref="backward"/> (that would end the process): a failed recompute is recorded in <see cref="BackwardFailures"/>.
    /// </summary>
    internal sealed class ForwardCheckpointFunction : autograd.MultiTensorFunction<ForwardCheckpointFunction>
    {
        private const string RegionKey = "ModelGen.ForwardRegion";

        /// <inheritdoc />
        public override string Name => "ModelGen.ForwardCheckpoint";

        /// <summary>Runs the body without a graph and keeps only the inputs.</summary>
        public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var region = (ForwardRegion)vars[0];
            var present = vars.Skip(1).Take(region.InputNeedsGrad.Length).Cast<Tensor>().ToList();
            region.Rng = RngSnapshot.CaptureForForward(present[0].device);
            var (result, outputs) = region.Body(region.Spread(present));
            region.FirstResult = result;
            // Throwing here is safe: forward runs on the caller's stack, not inside the engine.
            if (outputs.All(o => o is null))
                throw new InvalidOperationException("The checkpointed forward returned no tensor.");
            if (outputs.Any(o => o is not null && o.IsInvalid))
                throw new InvalidOperationException("The checkpointed forward returned a disposed tensor.");
            region.OutputPresent = outputs.Select(o => o is not null).ToArray();
            var returned = outputs.Where(o => o is not null).Select(o => o!).ToList();
            region.OutputMeta = returned.Select(o => (o.shape, o.dtype)).ToArray();
            var integer = returned.Where(o => !o.is_floating_point() && !o.is_complex()).ToList();
            if (integer.Count > 0)
                ctx.mark_non_differentiable(integer);
            ctx.save_for_backward(present);
            ctx.save_data(RegionKey, region);
            ctx.set_materialize_grads(false);
            return returned;
        }

        /// <summary>Recomputes the body with grad on and returns gradients for the inputs and parameters.</summary>
        public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
        {
            var region = ctx.get_data(RegionKey) as ForwardRegion;
            try {
                return Recompute(ctx, region!, grad_outputs);
            } catch (Exception exception) {
                BackwardFailures.Record(new InvalidOperationException(
                    "Recomputing a checkpointed forward in backward failed: " + exception.Message, exception));
                return Enumerable.Repeat<Tensor>(null!, 1 + (region?.InputNeedsGrad.Length ?? 0) + (region?.Parameters.Length ?? 0)).ToList();
            } finally {
                foreach (var gradOutput in grad_outputs)
                    gradOutput?.Dispose();
            }
        }

        private static List<Tensor> Recompute(autograd.AutogradContext ctx, ForwardRegion region, List<Tensor> grad_outputs)
        {
            ReturnedGradients.Release();
            var inputCount = region.InputNeedsGrad.Length;
            var gradients = Enumerable.Repeat<Tensor>(null!, 1 + inputCount + region.Parameters.Length).ToList();
            if (grad_outputs.All(g => g is null || g.IsInvalid))
                return gradients; // no output reached the loss

            using var scope = NewDisposeScope();
            var saved = ctx.get_saved_variables();
            var inputs = new List<Tensor>(inputCount);
            for (var i = 0; i < inputCount; i++)
            {
                var input = saved[i].detach();
                if (region.InputNeedsGrad[i])
                    input.requires_grad_(true);
                inputs.Add(input);
            }
            Tensor?[] outputs;
            using (region.Rng!.ReplayForRecompute(inputs[0].device))
            using (enable_grad())
                outputs = region.Body(region.Spread(inputs)).Outputs;
            var returned = outputs.Where(o => o is not null).Select(o => o!).ToList();
            if (!outputs.Select(o => o is not null).SequenceEqual(region.OutputPresent)
                || !returned.Select(o => (o.shape, o.dtype)).Zip(region.OutputMeta, (a, b) => a.shape.SequenceEqual(b.Shape) && a.dtype == b.Type).All(same => same))
                throw new InvalidOperationException("The checkpointed forward returned other outputs (which, shapes or dtypes) when recomputed than in the forward; it must compute the same every time.");

            var roots = new List<Tensor>();
            var seeds = new List<Tensor>();
            for (var i = 0; i < returned.Count && i < grad_outputs.Count; i++)
            {
                if (grad_outputs[i] is { IsInvalid: false } g && returned[i].requires_grad)
                {
                    roots.Add(returned[i]);
                    seeds.Add(g);
                }
            }
            if (roots.Count == 0)
                return gradients;
            var targets = new List<Tensor>();
            for (var i = 0; i < inputCount; i++)
            {
                if (region.InputNeedsGrad[i])
                    targets.Add(inputs[i]);
            }
            targets.AddRange(region.Parameters);
            var computed = autograd.grad(roots, targets, seeds, allow_unused: true);
            var next = 0;
            for (var i = 0; i < inputCount; i++)
            {
                if (region.InputNeedsGrad[i])
                    gradients[1 + i] = Keep(scope, computed[next++]);
            }
            for (var i = 0; i < region.Parameters.Length; i++)
                gradients[1 + inputCount + i] = Keep(scope, computed[next++]);
            return gradients;
        }

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
