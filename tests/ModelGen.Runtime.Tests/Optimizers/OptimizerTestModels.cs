using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Runtime.Tests.Nn;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Optimizers;

/// <summary>Small models with fixed weights and batches, so two optimizers can be run side by side from identical starts.</summary>
internal static class OptimizerTestModels
{
    /// <summary>A two-layer MLP with a norm, weights drawn from <paramref name="seed"/>, in <paramref name="dtype"/>.</summary>
    public static nn.Module<Tensor, Tensor> Mlp(long seed, ScalarType dtype = ScalarType.Float32)
    {
        var model = nn.Sequential(nn.Linear(6, 12), nn.GELU(), nn.LayerNorm(12), nn.Linear(12, 3));
        using (no_grad()) {
            var i = 0;
            foreach (var parameter in model.parameters())
                parameter.copy_(TensorAssert.Randn(seed + i++, parameter.shape) * 0.5);
        }
        model.to(dtype);
        return model;
    }

    /// <summary>Batch <paramref name="step"/> of 8 rows (inputs, targets), the same for every caller.</summary>
    public static (Tensor Input, Tensor Target) Batch(int step, int rows = 8) =>
        (TensorAssert.Randn(1000 + step, rows, 6), TensorAssert.Randn(2000 + step, rows, 3));

    /// <summary>Mean squared error in fp32, whatever the model's dtype.</summary>
    public static Tensor Loss(nn.Module<Tensor, Tensor> model, Tensor input, Tensor target)
    {
        var dtype = model.parameters().First().dtype;
        var output = model.call(input.to_type(dtype)).to_type(ScalarType.Float32);
        return (output - target).pow(2).mean();
    }

    /// <summary>The parameters as fp64 copies, for comparisons after the models have moved on.</summary>
    public static Tensor[] Snapshot(nn.Module model) =>
        model.parameters().Select(p => p.detach().to_type(ScalarType.Float64, copy: true).DetachFromDisposeScope()).ToArray();

    /// <summary>Asserts two models' parameters agree within <paramref name="atol"/> (0: bit for bit).</summary>
    public static void AssertSameParameters(nn.Module expected, nn.Module actual, double atol)
    {
        var e = expected.parameters().ToArray();
        var a = actual.parameters().ToArray();
        Assert.Equal(e.Length, a.Length);
        for (var i = 0; i < e.Length; i++) {
            if (atol == 0)
                Assert.True(e[i].eq(a[i]).all().item<bool>(), $"parameter {i} differs by {TensorAssert.MaxDifference(e[i], a[i]):G4}");
            else
                TensorAssert.Close(e[i], a[i], atol, rtol: atol);
        }
    }

    /// <summary>Runs <paramref name="steps"/> training steps of <paramref name="model"/> with <paramref name="step"/> as the update.</summary>
    public static void Train(nn.Module<Tensor, Tensor> model, int steps, Action step, Func<Tensor, Tensor>? scaleLoss = null, int firstBatch = 0)
    {
        for (var s = 0; s < steps; s++) {
            using var scope = NewDisposeScope();
            var (input, target) = Batch(firstBatch + s);
            var loss = Loss(model, input, target);
            (scaleLoss is null ? loss : scaleLoss(loss)).backward();
            step();
        }
    }

    /// <summary>The model's trainable parameters as a list (TorchSharp's optimizers take an enumerable).</summary>
    public static IReadOnlyList<Parameter> Trainable(nn.Module model) => model.parameters().Where(p => p.requires_grad).ToList();
}
