using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    /// <summary>
    /// Sequence-parallel entry into column-parallel projections that keeps only the sequence shard for backward, as Megatron-LM
    /// does (Korthikanti et al. 2022, §4.2.2): forward all-gathers the shard once and applies every projection; backward
    /// all-gathers it again for the weight gradients and reduce-scatters the summed input gradient. It keeps <c>b·s·h/t</c> instead of
    /// the gathered <c>b·s·h</c>, for one more all-gather in backward. The weights are used in place (no concatenated copy).
    /// Arguments to <c>apply</c>: a <see cref="GatheredProjections"/>, the input shard, the weights, then the biases that exist.
    /// </summary>
    internal sealed class GatheredLinearFunction : autograd.SingleTensorFunction<GatheredLinearFunction>
    {
        public override string Name => "ModelGen.SequenceParallelLinear";

        /// <summary>
        /// <c>cat_i linear(allgather_seq(shard), weights[i], biases[i])</c> along the last dimension, with the shard, not the
        /// gathered input, kept for backward.
        /// </summary>
        public static Tensor Apply(Tensor shard, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor?> biases, ProcessGroup group)
        {
            var spec = new GatheredProjections(group, weights.Select(w => w.shape[0]).ToArray(), biases.Select(b => b is not null).ToArray());
            var vars = new List<object> { spec, shard };
            vars.AddRange(weights);
            vars.AddRange(biases.Where(b => b is not null).Select(b => (object)b!));
            return apply(vars.ToArray());
        }

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var spec = (GatheredProjections)vars[0];
            var shard = (Tensor)vars[1];
            var count = spec.OutFeatures.Length;
            var weights = vars.Skip(2).Take(count).Cast<Tensor>().ToArray();
            var biases = Biases(spec, vars.Skip(2 + count).Cast<Tensor>().ToArray());
            // Out of every dispose scope: the caller's scope ends before backward runs. Freed by backward.
            ctx.save_data("spec", spec);
            ctx.save_data("shard", new[] { shard.detach().DetachFromDisposeScope() }); // in an array: TorchSharp warns on a Tensor stored as data
            ctx.save_data("weights", weights.Select(w => w.detach().DetachFromDisposeScope()).ToArray());
            using var scope = NewDisposeScope();
            var full = Collective.AllGather(shard, TensorParallelRegion.SequenceDim, spec.Group);
            var outputs = weights.Select((w, i) => nn.functional.linear(full, w, biases[i])).ToArray();
            return scope.MoveToOuter(outputs.Length == 1 ? outputs[0] : torch.cat(outputs, -1));
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            var spec = (GatheredProjections)ctx.get_data("spec");
            var shard = ((Tensor[])ctx.get_data("shard"))[0];
            var weights = (Tensor[])ctx.get_data("weights");
            var slots = 2 + weights.Length + spec.HasBias.Count(b => b);
            BackwardHandles.ReleaseReturned();
            try
            {
                using var scope = NewDisposeScope();
                // One pass over the [tokens, Σ out] gradient: each projection's columns are a strided view, read by matmul in place.
                var outputs = grad_output.reshape(-1, grad_output.shape[^1]);
                var grads = new Tensor[weights.Length];
                for (long i = 0, offset = 0; i < weights.Length; offset += spec.OutFeatures[i], i++)
                    grads[i] = outputs.narrow(1, offset, spec.OutFeatures[i]);
                var result = new List<Tensor> { null!, null! };
                // The weight gradients first, while the re-gathered input lives; it is freed before the input gradient is built, so
                // the backward never holds the gathered b·s·h input, the b·s·h input gradient and the reduce-scatter's copies at once.
                var full = Collective.AllGather(shard, TensorParallelRegion.SequenceDim, spec.Group);
                var fullShape = full.shape;
                using (var inputs = full.reshape(-1, fullShape[^1]))
                    for (var i = 0; i < weights.Length; i++)
                        result.Add(grads[i].t().matmul(inputs));
                full.Dispose();
                for (var i = 0; i < weights.Length; i++)
                    // sum(new long[] { 0 }), not sum(0): a literal 0 converts to ScalarType and picks the whole-tensor overload.
                    if (spec.HasBias[i]) result.Add(grads[i].sum(new long[] { 0 }));
                // The input gradient summed over the projections in one b·s·h tensor (in-place addmm), not a new tensor per term.
                var gradFull = grads[0].matmul(weights[0]);
                for (var i = 1; i < weights.Length; i++)
                    gradFull.addmm_(grads[i], weights[i]);
                var shaped = gradFull.view(fullShape);
                gradFull.Dispose(); // the view's handle keeps the storage until the reduce-scatter has its copy
                result[1] = Collective.ReduceScatter(shaped, TensorParallelRegion.SequenceDim, spec.Group, consume: true);
                return BackwardHandles.Return(grad_output, result);
            }
#pragma warning disable CA1031 // an exception must not cross the native autograd engine
            catch (Exception e)
#pragma warning restore CA1031
            {
                BackwardFailures.Record(e);
                return Enumerable.Repeat<Tensor>(null!, slots).ToList();
            }
            finally
            {
                shard.Dispose();
                foreach (var w in weights) w.Dispose();
            }
        }

        private static Tensor?[] Biases(GatheredProjections spec, Tensor[] present)
        {
            var result = new Tensor?[spec.OutFeatures.Length];
            var next = 0;
            for (var i = 0; i < result.Length; i++)
                if (spec.HasBias[i]) result[i] = present[next++];
            return result;
        }
    }

    /// <summary>What <see cref="GatheredLinearFunction"/> needs besides tensors: the group, each projection's width, which have biases.</summary>
    internal sealed record GatheredProjections(ProcessGroup Group, long[] OutFeatures, bool[] HasBias);
}
