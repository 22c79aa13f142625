using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Distributed.Worker
{
    /// <summary>Collects the outcome of many comparisons so one launch reports every mismatch, not just the first.</summary>
    internal sealed class Checks
    {
        private readonly List<string> _failures = new();

        public int Count { get; private set; }

        public IReadOnlyList<string> Failures => _failures;

        public void True(bool condition, string what)
        {
            Count++;
            if (!condition) _failures.Add(what);
        }

        /// <summary>Exact equality of values and shape (integers, max/min, copies).</summary>
        public void Equal(Tensor expected, Tensor actual, string what)
        {
            Count++;
            if (!expected.shape.AsSpan().SequenceEqual(actual.shape) || expected.dtype != actual.dtype)
                _failures.Add($"{what}: expected {expected.dtype}[{string.Join(",", expected.shape)}], got {actual.dtype}[{string.Join(",", actual.shape)}]");
            else if (!expected.to(ScalarType.Float64).eq(actual.to(ScalarType.Float64)).all().item<bool>())
                _failures.Add($"{what}: values differ, largest difference {MaxDifference(expected, actual)}");
        }

        /// <summary>|actual − expected| ≤ bound element-wise.</summary>
        public void Within(Tensor expected, Tensor actual, Tensor bound, string what)
        {
            Count++;
            if (!expected.shape.AsSpan().SequenceEqual(actual.shape) || expected.dtype != actual.dtype)
            {
                _failures.Add($"{what}: expected {expected.dtype}[{string.Join(",", expected.shape)}], got {actual.dtype}[{string.Join(",", actual.shape)}]");
                return;
            }
            using var difference = (actual.to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs();
            using var excess = difference - bound.to(ScalarType.Float64);
            if (excess.numel() > 0 && excess.max().item<double>() > 0)
                _failures.Add($"{what}: largest difference {difference.max().item<double>():G6} exceeds its bound (largest excess {excess.max().item<double>():G6})");
        }

        private static double MaxDifference(Tensor expected, Tensor actual)
            => expected.numel() == 0 ? 0 : (expected.to(ScalarType.Float64) - actual.to(ScalarType.Float64)).abs().max().item<double>();
    }
}
