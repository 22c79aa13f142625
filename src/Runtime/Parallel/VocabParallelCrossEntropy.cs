using System;
using System.Collections.Generic;
using ModelGen.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    /// <summary>
    /// Cross-entropy over logits split along the vocabulary (Shoeybi et al. 2019, §3): each rank holds <c>V/t</c> logits per
    /// position; the loss <c>log Σ exp(zⱼ − m) − (z_target − m)</c> needs only three all-reduces of one number per position (the
    /// maximum <c>m</c>, the target's logit, the sum of exponentials), so no rank builds the full logits.
    /// The gradient <c>softmax(z) − onehot(target)</c> is computed on each rank's slice with no communication.
    /// </summary>
    public static class VocabParallelCrossEntropy
    {
        /// <summary>Per-position loss.</summary>
        /// <param name="localLogits">This rank's logits <c>[..., V/t]</c> for vocabulary rows from <paramref name="vocabularyStart"/>.</param>
        /// <param name="targets">Target token ids <c>[...]</c> (int64), the same on every rank of <paramref name="group"/>.</param>
        /// <param name="vocabularyStart">The first token id this rank's logits cover.</param>
        /// <param name="group">The tensor-parallel group.</param>
        /// <returns>The loss at each position, <c>[...]</c>, float32, the same on every rank.</returns>
        public static Tensor Loss(Tensor localLogits, Tensor targets, long vocabularyStart, ProcessGroup group)
        {
            ArgumentNullException.ThrowIfNull(localLogits);
            ArgumentNullException.ThrowIfNull(targets);
            ArgumentNullException.ThrowIfNull(group);
            if (!targets.shape.AsSpan().SequenceEqual(localLogits.shape.AsSpan(0, localLogits.shape.Length - 1)))
                throw new ArgumentException($"Targets [{string.Join(", ", targets.shape)}] must match the logits' leading dimensions [{string.Join(", ", localLogits.shape)}].", nameof(targets));
            return CrossEntropyFunction.apply(new CrossEntropyArgs(targets, vocabularyStart, group), localLogits);
        }
    }

    internal sealed record CrossEntropyArgs(Tensor Targets, long Start, ProcessGroup Group);

    internal sealed class CrossEntropyFunction : autograd.SingleTensorFunction<CrossEntropyFunction>
    {
        public override string Name => "ModelGen.VocabParallelCrossEntropy";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var args = (CrossEntropyArgs)vars[0];
            var logits = (Tensor)vars[1];
            using var scope = NewDisposeScope();
            var localVocab = logits.shape[^1];
            // The maximum of 16-bit logits is one of them, exact in fp32.
            var max = logits.amax(new long[] { -1 }, keepdim: true).to(ScalarType.Float32).contiguous();
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            if (args.Group.Size > 1) args.Group.AllReduce(max, ReduceOp.Max);
            Collective.Count(start);
            // One fp32 working tensor beside the caller's logits, what the memory model counts for the loss's forward: the shifted
            // logits (16-bit ones promoted by the subtraction, no separate fp32 copy), exponentiated and normalized in place into the
            // saved softmax. Separate shifted, exp and softmax tensors would be 8 bytes per logit more at the loss's peak.
            var shifted = logits - max;
            var outside = args.Targets.lt(args.Start).logical_or(args.Targets.ge(args.Start + localVocab));
            var local = (args.Targets - args.Start).masked_fill(outside, 0);
            var predicted = shifted.gather(-1, local.unsqueeze(-1)).squeeze(-1).masked_fill(outside, 0).contiguous();
            var sum = shifted.exp_().sum(-1).contiguous();
            start = System.Diagnostics.Stopwatch.GetTimestamp();
            if (args.Group.Size > 1)
            {
                args.Group.AllReduce(predicted);
                args.Group.AllReduce(sum);
            }
            Collective.Count(start);
            var loss = sum.log() - predicted;
            var softmax = shifted.div_(sum.unsqueeze(-1));
            // In an array: TorchSharp prints a warning for every Tensor stored as data, and these are intermediates, freed by backward.
            ctx.save_data("saved", new[] { softmax.DetachFromDisposeScope(), local.DetachFromDisposeScope(), outside.logical_not().DetachFromDisposeScope() });
            ctx.save_data("dtype", logits.dtype);
            return scope.MoveToOuter(loss);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            var saved = (Tensor[])ctx.get_data("saved");
            var (softmax, local, inside) = (saved[0], saved[1], saved[2]);
            BackwardHandles.ReleaseReturned();
            try
            {
                using var scope = NewDisposeScope();
                // (softmax − onehot(target)) · dL/dloss, computed in the saved softmax itself: no one-hot tensor (int64, twice the
                // logits' bytes) and no second [..., V/t] tensor, so the backward's largest temporary is the logits' size.
                var scale = grad_output.to(ScalarType.Float32).unsqueeze(-1);
                softmax.mul_(scale);
                softmax.scatter_add_(-1, local.unsqueeze(-1), -(scale * inside.unsqueeze(-1).to(ScalarType.Float32)));
                // A new handle on the same storage (detach), owned like any result; the saved handle is released below.
                var dtype = (ScalarType)ctx.get_data("dtype");
                var grad = dtype == ScalarType.Float32 ? softmax.detach() : softmax.to(dtype);
                return BackwardHandles.Return(grad_output, new List<Tensor> { null!, grad });
            }
#pragma warning disable CA1031 // an exception must not cross the native autograd engine
            catch (Exception e)
#pragma warning restore CA1031
            {
                BackwardFailures.Record(e);
                return new List<Tensor> { null!, null! };
            }
            finally
            {
                softmax.Dispose();
                local.Dispose();
                inside.Dispose();
            }
        }
    }
}
