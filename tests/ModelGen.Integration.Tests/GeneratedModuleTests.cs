using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

[Collection(GlobalRandomStream.Name)]
public class GeneratedModuleTests
{
    private static readonly TestConfig Config = new();

    /// <summary>Runs forward + backward with dropout on; returns the output and the gradients of the input and of every parameter.</summary>
    private static (Tensor Output, Tensor InputGrad, Dictionary<string, Tensor> ParamGrads) Step(CheckpointedMlp layer, Tensor input, bool checkpoint)
    {
        layer.CheckpointActivations = checkpoint;
        layer.train();
        layer.zero_grad();
        var x = input.detach().clone().requires_grad_(true);
        torch.manual_seed(1234);
        var y = layer.call(x);
        (y * y).sum().backward();
        var grads = layer.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        return (y.detach().clone(), x.grad!.clone(), grads);
    }

    [Fact]
    public void Checkpointed_forward_and_backward_equal_the_plain_ones_with_dropout_on()
    {
        torch.manual_seed(7);
        using var layer = new CheckpointedMlp(Config);
        var input = torch.randn(4, 5, Config.Hidden);

        var plain = Step(layer, input, checkpoint: false);
        var checkpointed = Step(layer, input, checkpoint: true);

        Assert.True(plain.Output.Equals(checkpointed.Output), "outputs differ");
        Assert.True(plain.InputGrad.Equals(checkpointed.InputGrad), "input gradients differ");
        Assert.Equal(new[] { "down.weight", "up.bias", "up.weight" }, plain.ParamGrads.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach (var (name, grad) in plain.ParamGrads)
            Assert.True(grad.Equals(checkpointed.ParamGrads[name]), $"gradient of {name} differs");
        // Dropout really dropped something, so the comparison would catch a recompute with a different mask.
        layer.eval();
        using (torch.no_grad())
            Assert.False(layer.call(input).Equals(plain.Output), "dropout had no effect in training mode");
    }

    [Fact]
    public void Checkpoint_attribute_sets_the_default_and_stacks_apply_every_k()
    {
        using var layer = new CheckpointedMlp(Config);
        Assert.True(layer.CheckpointActivations);
        using var model = new TinyModel(Config);
        Assert.Equal(new[] { true, false, true }, model.Blocks.Select(b => b.CheckpointActivations));
    }

    [Fact]
    public void Parameters_are_created_in_the_declared_precision_nearest_attribute_wins()
    {
        using var half = new HalfLayer(Config);
        Assert.Equal(ScalarType.BFloat16, half.Proj.weight.dtype);
        Assert.Equal(ScalarType.Float32, half.Norm.weight!.dtype);
        Assert.Equal(DType.BFloat16, half.StoragePrecision);

        using var parentChosen = new CheckpointedMlp(Config, precision: DType.Float16);
        Assert.All(parentChosen.parameters(), p => Assert.Equal(ScalarType.Float16, p.dtype));

        using var model = new TinyModel(Config);
        Assert.Equal(ScalarType.Float32, model.Embed.weight!.dtype);
        Assert.Equal(ScalarType.BFloat16, model.Half.Proj.weight.dtype);
    }

    [Fact]
    public void State_dict_keys_follow_the_documented_layout()
    {
        using var model = new TinyModel(Config);
        var keys = model.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
        var expected = new List<string> { "embed.weight", "head.weight", "half.norm.bias", "half.norm.weight", "half.proj.bias", "half.proj.weight", "norm.bias", "norm.weight" };
        for (var i = 0; i < Config.Layers; i++)
            expected.AddRange(new[] { $"blocks.{i}.down.weight", $"blocks.{i}.up.bias", $"blocks.{i}.up.weight" });
        Assert.Equal(expected.OrderBy(k => k, StringComparer.Ordinal), keys);
    }

    [Fact]
    public void Tied_weights_are_one_tensor()
    {
        using var model = new TinyModel(Config);
        using (torch.no_grad())
            model.Embed.weight!.add_(1.0);
        Assert.True(model.Embed.weight!.Equals(model.Head.weight), "writing through one name must change the other");
        // The optimizer must see the shared tensor once, or it would be updated twice per step:
        // embed 32·16 + 3 blocks·(16·64 + 64 + 64·16) + half (16·16 + 16 + 2·16) + norm 2·16, and the head adds nothing.
        Assert.Equal(512 + 3 * 2112 + 304 + 32, model.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void The_model_trains_and_its_description_matches_the_compile_time_sizes()
    {
        torch.manual_seed(3);
        using var model = new TinyModel(Config);
        var optimizer = torch.optim.AdamW(model.parameters(), lr: 1e-2);
        var tokens = torch.randint(0, Config.Vocab, new long[] { 2, 8 });
        float first = 0, last = 0;
        for (var step = 0; step < 20; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var logits = model.call(tokens);
            var loss = nn.functional.cross_entropy(logits.reshape(-1, Config.Vocab), tokens.reshape(-1));
            loss.backward();
            optimizer.step();
            last = loss.item<float>();
            if (step == 0)
                first = last;
        }
        Assert.True(last < first * 0.7, $"loss did not fall: {first} -> {last}");

        var description = TinyModel.DescribeModel(Config);
        Assert.Equal("TinyModel", description.Root.Name);
        Assert.Equal(new[] { "CheckpointedMlp", "HalfLayer" }, description.Layers.Select(l => l.Name).OrderBy(n => n, StringComparer.Ordinal));
    }
}

/// <summary>libtorch's CPU generator is process-wide: tests that compare seeded runs must not run beside others.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalRandomStream
{
    public const string Name = "Global random stream";
}
