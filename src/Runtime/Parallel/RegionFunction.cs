using System;
using System.Collections.Generic;
using ModelGen.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    /// <summary>The six ways a tensor enters or leaves a tensor-parallel region (Shoeybi et al. 2019, §3, functions f and g; Korthikanti et al. 2022, §4.2.2, g and ḡ).</summary>
    internal enum RegionOp
    {
        CopyTo,          // identity forward, all-reduce backward (f)
        ReduceFrom,      // all-reduce forward, identity backward (g)
        GatherLastDim,   // all-gather last dim forward, split backward
        SplitLastDim,    // split last dim forward, all-gather backward
        GatherSequence,  // all-gather sequence forward, reduce-scatter backward (g of sequence parallel)
        ScatterSequence, // reduce-scatter sequence forward, all-gather backward (ḡ)
        SplitSequence,   // split sequence forward, all-gather backward
    }

    /// <summary>
    /// One autograd node for every <see cref="RegionOp"/>. Arguments to <c>apply</c>: the op, the group, the dimension (boxed
    /// values, no edges), then the tensor. The backward runs the forward's conjugate collective; it catches every exception
    /// (TorchSharp ends the process when one crosses its engine), records it with <see cref="BackwardFailures"/> and returns
    /// no gradient, so <see cref="BackwardFailures.Backward"/> rethrows it once the engine is done.
    /// </summary>
    internal sealed class RegionFunction : autograd.SingleTensorFunction<RegionFunction>
    {
        private const string OpKey = "ModelGen.RegionOp", GroupKey = "ModelGen.RegionGroup", DimKey = "ModelGen.RegionDim";

        /// <inheritdoc/>
        public override string Name => "ModelGen.TensorParallelRegion";

        /// <inheritdoc/>
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var op = (RegionOp)vars[0];
            var group = (ProcessGroup)vars[1];
            var dim = (long)vars[2];
            var input = (Tensor)vars[3];
            ctx.save_data(OpKey, op);
            ctx.save_data(GroupKey, group);
            ctx.save_data(DimKey, dim);
            // The collectives' views and copies die with this scope, not with the caller's.
            using var scope = NewDisposeScope();
            return scope.MoveToOuter(op switch
            {
                RegionOp.CopyTo => input.view_as(input),
                RegionOp.ReduceFrom => Collective.AllReduce(input, group),
                RegionOp.GatherLastDim or RegionOp.GatherSequence => Collective.AllGather(input, dim, group),
                RegionOp.SplitLastDim or RegionOp.SplitSequence => Collective.Split(input, dim, group),
                RegionOp.ScatterSequence => Collective.ReduceScatter(input, dim, group),
                _ => throw new ArgumentOutOfRangeException(nameof(vars), op, "Unknown region op."),
            });
        }

        /// <inheritdoc/>
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            BackwardHandles.ReleaseReturned();
            try
            {
                using var scope = NewDisposeScope();
                var op = (RegionOp)ctx.get_data(OpKey);
                var group = (ProcessGroup)ctx.get_data(GroupKey);
                var dim = (long)ctx.get_data(DimKey);
                var grad = op switch
                {
                    RegionOp.CopyTo => Collective.AllReduce(grad_output, group),
                    RegionOp.ReduceFrom => grad_output,
                    RegionOp.GatherLastDim => Collective.Split(grad_output, dim, group),
                    RegionOp.GatherSequence => Collective.ReduceScatter(grad_output, dim, group),
                    RegionOp.SplitLastDim or RegionOp.SplitSequence or RegionOp.ScatterSequence => Collective.AllGather(grad_output, dim, group),
                    _ => throw new InvalidOperationException($"Unknown region op {op}."),
                };
                return BackwardHandles.Return(grad_output, new List<Tensor> { null!, null!, null!, grad });
            }
#pragma warning disable CA1031 // an exception must not cross the native autograd engine
            catch (Exception e)
#pragma warning restore CA1031
            {
                BackwardFailures.Record(e);
                return new List<Tensor> { null!, null!, null!, null! };
            }
        }
    }

    /// <summary>Collectives along any dimension, built on <see cref="ProcessGroup"/>'s dimension-0 ones; none changes its input.</summary>
    internal static class Collective
    {
        private static long s_ticks;

        /// <summary>Time spent inside tensor-parallel collectives by this process since the last reset.</summary>
        public static TimeSpan Elapsed => TimeSpan.FromTicks(System.Threading.Interlocked.Read(ref s_ticks) * TimeSpan.TicksPerSecond / System.Diagnostics.Stopwatch.Frequency);

        public static void Reset() => System.Threading.Interlocked.Exchange(ref s_ticks, 0);

        /// <summary>Adds the time since <paramref name="start"/> (a <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>).</summary>
        public static void Count(long start) => System.Threading.Interlocked.Add(ref s_ticks, System.Diagnostics.Stopwatch.GetTimestamp() - start);

        public static Tensor AllReduce(Tensor input, ProcessGroup group)
        {
            var result = input.contiguous().clone();
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            if (group.Size > 1) group.AllReduce(result);
            Count(start);
            return result;
        }

        public static Tensor AllGather(Tensor input, long dim, ProcessGroup group)
        {
            dim = Normalize(input, dim);
            if (group.Size == 1) return input.clone();
            using var front = input.transpose(dim, 0).contiguous();
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            using var gathered = group.AllGather(front);
            Count(start);
            return gathered.transpose(0, dim).contiguous();
        }

        public static Tensor ReduceScatter(Tensor input, long dim, ProcessGroup group) => ReduceScatter(input, dim, group, consume: false);

        /// <summary>
        /// Reduce-scatter along <paramref name="dim"/>; with <paramref name="consume"/> the input's handle is disposed as soon as its
        /// contiguous copy exists, so a backward's full-size gradient does not live beside the copy and the shard.
        /// </summary>
        public static Tensor ReduceScatter(Tensor input, long dim, ProcessGroup group, bool consume)
        {
            dim = Normalize(input, dim);
            CheckDivisible(input, dim, group);
            if (group.Size == 1) return input.clone();
            using var front = input.transpose(dim, 0).contiguous();
            if (consume)
                input.Dispose();
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            using var mine = group.ReduceScatter(front);
            Count(start);
            return mine.transpose(0, dim).contiguous();
        }

        public static Tensor Split(Tensor input, long dim, ProcessGroup group)
        {
            dim = Normalize(input, dim);
            CheckDivisible(input, dim, group);
            var length = input.shape[dim] / group.Size;
            return input.narrow(dim, length * group.Rank, length).contiguous().clone();
        }

        private static long Normalize(Tensor input, long dim) => dim < 0 ? dim + input.dim() : dim;

        private static void CheckDivisible(Tensor input, long dim, ProcessGroup group)
        {
            if (input.shape[dim] % group.Size != 0)
                throw new ArgumentException(
                    $"Dimension {dim} of [{string.Join(", ", input.shape)}] has {input.shape[dim]} elements, which the tensor-parallel degree {group.Size} does not divide: " +
                    "with sequence parallelism the sequence length must be a multiple of the degree.");
        }
    }
}
