using System;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Nn
{
    /// <summary>Tensor comparisons with the largest difference in the failure message.</summary>
    internal static class TensorAssert
    {
        /// <summary>|actual − expected| ≤ atol + rtol·|expected| elementwise, compared in fp64.</summary>
        public static void Close(Tensor expected, Tensor actual, double atol, double rtol = 0)
        {
            Assert.Equal(expected.shape, actual.shape);
            using var scope = torch.NewDisposeScope();
            var e = expected.detach().to(ScalarType.Float64);
            var a = actual.detach().to(ScalarType.Float64);
            var excess = ((a - e).abs() - (e.abs() * rtol + atol)).max().item<double>();
            var maxDiff = (a - e).abs().max().item<double>();
            Assert.True(excess <= 0, $"max |actual - expected| = {maxDiff:G4} exceeds atol {atol:G3} + rtol {rtol:G3}·|expected|");
        }

        /// <summary>The largest absolute difference, in fp64.</summary>
        public static double MaxDifference(Tensor a, Tensor b)
        {
            using var scope = torch.NewDisposeScope();
            return (a.detach().to(ScalarType.Float64) - b.detach().to(ScalarType.Float64)).abs().max().item<double>();
        }

        /// <summary>Every parameter has a gradient with a non-zero entry after backward.</summary>
        public static void AllGradientsNonZero(nn.Module module)
        {
            foreach (var (name, parameter) in module.named_parameters())
            {
                var grad = parameter.grad;
                Assert.True(grad is not null, $"parameter '{name}' has no gradient");
                Assert.True(grad!.abs().max().item<float>() > 0, $"gradient of '{name}' is all zeros");
            }
        }

        /// <summary>The state_dict keys, sorted, for set comparison.</summary>
        public static string[] SortedKeys(nn.Module module) => module.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();

        /// <summary>Sorted copy of <paramref name="keys"/>.</summary>
        public static string[] Sorted(params string[] keys) => keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();

        /// <summary>Total elements over all parameters.</summary>
        public static long ParameterCount(nn.Module module) => module.parameters().Sum(p => p.numel());

        /// <summary>A reproducible standard-normal tensor.</summary>
        public static Tensor Randn(long seed, params long[] shape)
        {
            using var generator = new Generator((ulong)seed);
            return torch.randn(shape, generator: generator);
        }
    }
}
