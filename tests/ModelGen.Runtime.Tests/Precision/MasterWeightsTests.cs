using System;
using System.Linq;
using ModelGen;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Precision;

public sealed class MasterWeightsTests
{
    [Fact]
    public void Optimizer_updates_fp32_copies_and_the_model_gets_them_rounded()
    {
        manual_seed(31);
        var model = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4));
        model.to(ScalarType.BFloat16);
        var norm = (LayerNorm)model[1];
        norm.to(ScalarType.Float32); // mixed: the norm stays fp32 and needs no copy
        var input = randn(3, 4).to_type(ScalarType.BFloat16);

        using var master = new MasterWeights(model.parameters());
        Assert.Equal(4, master.Parameters.Count);
        Assert.All(master.Parameters, p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.Contains(master.Parameters, p => ReferenceEquals(p, norm.weight));

        var optimizer = optim.SGD(master.Parameters, 0.5);
        var scaler = new LossScaler(initialScale: 64);
        var hidden = model[0].call(input).to_type(ScalarType.Float32);
        scaler.Scale(norm.call(hidden).pow(2).mean()).backward();
        master.CopyGradientsToMaster();

        var linear = (Linear)model[0];
        var fp32Weight = master.Parameters[0];
        Assert.True(fp32Weight.grad!.allclose(linear.weight.grad!.to_type(ScalarType.Float32), rtol: 0, atol: 0));

        Assert.True(scaler.Step(optimizer, master.Parameters));
        master.CopyMasterToModel();

        Assert.True(linear.weight.allclose(fp32Weight.detach().to_type(ScalarType.BFloat16), rtol: 0, atol: 0));
        Assert.False(fp32Weight.detach().to_type(ScalarType.BFloat16).to_type(ScalarType.Float32).allclose(fp32Weight.detach(), rtol: 0, atol: 0),
            "the fp32 copy keeps bits the bf16 weight cannot hold");
    }

    [Fact]
    public void Frozen_parameters_are_left_out_and_copies_survive_the_callers_scope()
    {
        manual_seed(32);
        var layer = nn.Linear(2, 2);
        layer.to(ScalarType.Float16);
        layer.bias!.requires_grad_(false);

        MasterWeights master;
        using (NewDisposeScope())
            master = new MasterWeights(layer.parameters());

        Assert.Single(master.Parameters);
        Assert.False(master.Parameters[0].IsInvalid);
        master.Dispose();
        Assert.Throws<ObjectDisposedException>(() => master.CopyMasterToModel());
    }
}
