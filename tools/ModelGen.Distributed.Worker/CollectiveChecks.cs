using System;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Distributed.Worker
{
    /// <summary>
    /// Every collective, every dtype, even and uneven sizes, against references this rank computes itself: each rank's input
    /// is a function of (rank, case), so any rank can rebuild all the others' inputs and the exact result.
    /// </summary>
    internal static class CollectiveChecks
    {
        private static readonly ScalarType[] s_dtypes =
        {
            ScalarType.Float32, ScalarType.Float64, ScalarType.Float16, ScalarType.BFloat16,
            ScalarType.Int32, ScalarType.Int64, ScalarType.Byte, ScalarType.Int8,
        };

        public static void Run(ProcessGroup group, Checks checks)
        {
            var size = group.Size;
            foreach (var dtype in s_dtypes)
            {
                var salt = Array.IndexOf(s_dtypes, dtype) * 100;
                foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Average, ReduceOp.Max, ReduceOp.Min })
                {
                    if (op == ReduceOp.Average && IsInteger(dtype)) continue;
                    // Odd sizes, an empty tensor and a 2-D one; all-reduce needs equal shapes on every rank.
                    foreach (var shape in new[] { new long[] { 1 }, new long[] { 1001 }, new long[] { 0 }, new long[] { 7, 13 } })
                    {
                        var what = $"AllReduce {op} {dtype} [{string.Join(",", shape)}]";
                        using var mine = Input(group.Rank, dtype, shape, salt);
                        group.AllReduce(mine, op);
                        CompareReduction(checks, Reference(size, dtype, shape, salt, op), mine, dtype, op, size, what);
                        salt++;
                    }
                }

                // In place through a strided view: the result must land in the view's own elements.
                using (var storage = Input(group.Rank, dtype, new long[] { 6, 5 }, salt))
                {
                    var view = storage.t();
                    group.AllReduce(view, ReduceOp.Max);
                    CompareReduction(checks, Reference(size, dtype, new long[] { 6, 5 }, salt, ReduceOp.Max).Map(x => x.t()), view, dtype, ReduceOp.Max, size, $"AllReduce Max {dtype} on a transposed view");
                    salt++;
                }

                // All-gather: uneven first dimensions (one rank sends none), then even ones.
                foreach (var uneven in new[] { true, false })
                {
                    long Rows(int r) => uneven ? (r * 2 + 1) % 3 : 2;
                    using var mine = Input(group.Rank, dtype, new[] { Rows(group.Rank), 3L }, salt);
                    using var gathered = group.AllGather(mine);
                    using var expected = torch.cat(Enumerable.Range(0, size).Select(r => Input(r, dtype, new[] { Rows(r), 3L }, salt)).ToList(), 0);
                    checks.Equal(expected, gathered, $"AllGather {dtype} rows [{string.Join(",", Enumerable.Range(0, size).Select(Rows))}]");
                    salt++;
                }

                // Reduce-scatter: uneven counts (one rank gets none), then even ones without counts.
                foreach (var uneven in new[] { true, false })
                {
                    var counts = Enumerable.Range(0, size).Select(r => uneven ? (long)(r % 3) : 2L).ToArray();
                    var shape = new[] { counts.Sum(), 4L };
                    foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Max })
                    {
                        using var mine = Input(group.Rank, dtype, shape, salt);
                        using var slice = group.ReduceScatter(mine, op, uneven ? counts : null);
                        var start = counts.Take(group.Rank).Sum();
                        var expected = Reference(size, dtype, shape, salt, op).Map(x => x.narrow(0, start, counts[group.Rank]));
                        CompareReduction(checks, expected, slice, dtype, op, size, $"ReduceScatter {op} {dtype} counts [{string.Join(",", counts)}]");
                        salt++;
                    }
                }

                // Broadcast from the last rank into zeros.
                using (var buffer = group.Rank == size - 1 ? Input(group.Rank, dtype, new long[] { 33 }, salt) : torch.zeros(33, dtype))
                {
                    group.Broadcast(buffer, root: size - 1);
                    checks.Equal(Input(size - 1, dtype, new long[] { 33 }, salt), buffer, $"Broadcast {dtype}");
                    salt++;
                }
            }
            group.Barrier();
            checks.True(true, "Barrier returned");
            // A world of one is the lead's identity contract (SingleProcessGroup), which checks less.
            if (group is MpiProcessGroup) BadInput(group, checks);
        }

        // Refusals every rank reaches together, so none is left waiting in a collective.
        private static void BadInput(ProcessGroup group, Checks checks)
        {
            void Refused<TException>(Action call, string expected, string what) where TException : Exception
            {
                try
                {
                    call();
                    checks.True(false, $"{what}: accepted");
                }
                catch (TException e)
                {
                    checks.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{what}: message '{e.Message}' lacks '{expected}'");
                }
            }

            using var rows = torch.ones(group.Size * 2 + 1, 3);
            if (group.Size > 1)
                Refused<ArgumentException>(() => group.ReduceScatter(rows), "divisible by the group size", "ReduceScatter of uneven rows without counts");
            Refused<ArgumentException>(() => group.ReduceScatter(rows, counts: new long[group.Size]), "adding up to the first dimension", "ReduceScatter with counts that do not add up");
            using var ints = torch.ones(4, ScalarType.Int32);
            Refused<ArgumentException>(() => group.AllReduce(ints, ReduceOp.Average), "no single rounding", "an average of integers");
            using var flags = torch.ones(4, ScalarType.Bool);
            Refused<NotSupportedException>(() => group.AllReduce(flags), "not Bool", "a bool tensor");
            Refused<ArgumentOutOfRangeException>(() => group.Broadcast(rows, root: group.Size), "must be a rank of this group", "a broadcast root outside the group");
            // Shapes differ between ranks beyond dimension 0: every rank learns it from the exchanged shapes.
            using var ragged = torch.ones(2, 3 + group.Rank % 2);
            if (group.Size > 1)
                Refused<ArgumentException>(() => group.AllGather(ragged), "same size beyond dimension 0", "AllGather of rows of different widths");
        }

        /// <summary>
        /// The bound stated in docs/distributed.md for a floating-point reduction: fp16 and bf16 sums are computed in fp32
        /// and rounded once, so the error is half a unit in the last place of the 16-bit result (unit roundoff u = 2^-11 for
        /// fp16, 2^-8 for bf16) plus fp32's own summation error, (N − 1)·2^-24·Σ|xᵢ| (Higham, Accuracy and Stability of
        /// Numerical Algorithms, 2002, §4.2); fp32 and fp64 have only the summation term at their own precision.
        /// </summary>
        private static void CompareReduction(Checks checks, Reduced expected, Tensor actual, ScalarType dtype, ReduceOp op, int size, string what)
        {
            if (IsInteger(dtype) || op is ReduceOp.Max or ReduceOp.Min)
            {
                checks.Equal(expected.Exact.to(dtype), actual, what);
                return;
            }
            var unitRoundoff = dtype switch
            {
                ScalarType.Float16 => Math.Pow(2, -11),
                ScalarType.BFloat16 => Math.Pow(2, -8),
                _ => 0,
            };
            var accumulation = dtype == ScalarType.Float64 ? Math.Pow(2, -53) : Math.Pow(2, -24);
            // Average divides once more in fp32 (or fp64): one more rounding of the result.
            var division = op == ReduceOp.Average ? accumulation : 0;
            using var bound = expected.Exact.abs() * (unitRoundoff + division) + expected.Magnitude * ((size - 1) * accumulation);
            checks.Within(expected.Exact, actual.to(ScalarType.Float64), bound, what);
            checks.True(actual.dtype == dtype, $"{what}: result dtype {actual.dtype}");
        }

        /// <summary>An exact reduction and Σ|xᵢ| (what the summation error bound scales with), element-wise.</summary>
        private sealed record Reduced(Tensor Exact, Tensor Magnitude)
        {
            public Reduced Map(Func<Tensor, Tensor> select) => new(select(Exact), select(Magnitude));
        }

        /// <summary>The exact reduction over every rank's input, in fp64 (integers: in the dtype itself, where uint8 sums wrap as MPI's do).</summary>
        private static Reduced Reference(int size, ScalarType dtype, long[] shape, int salt, ReduceOp op)
        {
            var inputs = Enumerable.Range(0, size).Select(r => Input(r, dtype, shape, salt)).ToList();
            if (IsInteger(dtype))
            {
                var acc = inputs[0].clone();
                foreach (var x in inputs.Skip(1))
                {
                    if (op == ReduceOp.Sum) acc.add_(x);
                    else if (op == ReduceOp.Max) acc = acc.maximum(x);
                    else acc = acc.minimum(x);
                }
                return new(acc, acc);
            }
            var wide = inputs.Select(x => x.to(ScalarType.Float64)).ToList();
            var magnitude = wide.Select(x => x.abs()).Aggregate((a, b) => a + b);
            var exact = op switch
            {
                ReduceOp.Sum => wide.Aggregate((a, b) => a + b),
                ReduceOp.Average => wide.Aggregate((a, b) => a + b) / size,
                ReduceOp.Max => wide.Aggregate((a, b) => a.maximum(b)),
                _ => wide.Aggregate((a, b) => a.minimum(b)),
            };
            return new(exact, op == ReduceOp.Average ? magnitude / size : magnitude);
        }

        /// <summary>Rank <paramref name="rank"/>'s input for case <paramref name="salt"/>: normal values for floats, small or wrapping ranges for integers.</summary>
        internal static Tensor Input(int rank, ScalarType dtype, long[] shape, int salt)
        {
            var generator = new Generator((ulong)(salt * 131 + rank + 1), CPU);
            return dtype switch
            {
                // uint8 sums may wrap (defined for unsigned types in C and in torch alike); int8 stays small so no signed overflow.
                ScalarType.Byte => torch.randint(0, 256, shape, ScalarType.Byte, generator: generator),
                ScalarType.Int8 => torch.randint(-30, 31, shape, ScalarType.Int8, generator: generator),
                ScalarType.Int32 => torch.randint(-1_000_000, 1_000_000, shape, ScalarType.Int32, generator: generator),
                ScalarType.Int64 => torch.randint(-1_000_000, 1_000_000, shape, ScalarType.Int64, generator: generator) * 1_000_000_007L,
                _ => torch.randn(shape, ScalarType.Float64, generator: generator).to(dtype),
            };
        }

        private static bool IsInteger(ScalarType dtype) => dtype is ScalarType.Int32 or ScalarType.Int64 or ScalarType.Byte or ScalarType.Int8;
    }
}
