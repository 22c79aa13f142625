using System.Linq;
using ModelGen.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Quantization;

/// <summary>Seeded float layers and inputs shared by the quantization tests.</summary>
internal static class QuantTestData
{
    /// <summary>Every format the tests cover: (kind, group size, double quantization).</summary>
    public static TheoryData<QuantKind, int, bool> Formats => new()
    {
        { QuantKind.Int8, 0, false },
        { QuantKind.Int4, 32, false },
        { QuantKind.Int4, 64, false },
        { QuantKind.Int4, 128, false },
        { QuantKind.NF4, 64, false },
        { QuantKind.NF4, 64, true },
    };

    /// <summary>A float32 Linear whose weight is N(0, 0.02²) (GPT-2's initialisation) and bias, when asked for, U(-0.1, 0.1).</summary>
    public static Linear GaussianLinear(long inFeatures, long outFeatures, long seed, bool hasBias = true)
    {
        var gen = new Generator((ulong)seed);
        var linear = nn.Linear(inFeatures, outFeatures, hasBias);
        using (no_grad())
        {
            using var w = randn(new[] { outFeatures, inFeatures }, generator: gen).mul_(0.02);
            linear.weight!.copy_(w);
            if (hasBias)
            {
                using var b = rand(new[] { outFeatures }, generator: gen).mul_(0.2).sub_(0.1);
                linear.bias!.copy_(b);
            }
        }

        return linear;
    }

    /// <summary>Standard normal inputs of shape [rows, features].</summary>
    public static Tensor GaussianInput(long rows, long features, long seed) =>
        randn(new[] { rows, features }, generator: new Generator((ulong)seed));

    /// <summary>Same shape, same dtype and every element equal (bitwise for the stored integer codes).</summary>
    public static bool Identical(Tensor a, Tensor b)
    {
        if (a.dtype != b.dtype || !a.shape.SequenceEqual(b.shape))
            return false;
        using var eq = a.eq(b);
        using var all = eq.all();
        return all.item<bool>();
    }

    /// <summary>‖a − b‖ / ‖b‖ (Frobenius).</summary>
    public static double RelativeError(Tensor actual, Tensor expected)
    {
        using var a = actual.to(ScalarType.Float64);
        using var e = expected.to(ScalarType.Float64);
        using var diff = a - e;
        using var num = diff.norm();
        using var den = e.norm();
        return num.item<double>() / den.item<double>();
    }
}
