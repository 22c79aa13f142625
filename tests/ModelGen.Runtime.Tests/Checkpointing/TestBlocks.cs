using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Checkpointing;

/// <summary>fc2(dropout(gelu(fc1(x)))) + x: a small residual MLP block with random dropout masks.</summary>
internal sealed class MlpBlock : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly Dropout drop;

    public MlpBlock(int width, int hidden) : base(nameof(MlpBlock))
    {
        fc1 = nn.Linear(width, hidden);
        fc2 = nn.Linear(hidden, width);
        drop = nn.Dropout(0.1);
        RegisterComponents();
    }

    public bool Checkpointed { get; set; }

    public override Tensor forward(Tensor input) =>
        Checkpointed ? Checkpoint.Run(this, Body, input) : Body(input);

    private Tensor Body(Tensor x) => fc2.call(drop.call(nn.functional.gelu(fc1.call(x)))) + x;
}

/// <summary>Two blocks in sequence.</summary>
internal sealed class TwoBlocks : nn.Module<Tensor, Tensor>
{
    private readonly MlpBlock first;
    private readonly MlpBlock second;

    public TwoBlocks(int width, int hidden) : base(nameof(TwoBlocks))
    {
        first = new MlpBlock(width, hidden);
        second = new MlpBlock(width, hidden);
        RegisterComponents();
    }

    public bool Checkpointed
    {
        set { first.Checkpointed = value; second.Checkpointed = value; }
    }

    public override Tensor forward(Tensor input) => second.call(first.call(input));
}

/// <summary>What one training step produced, copied out of every dispose scope.</summary>
internal sealed record StepResult(float[] Output, float[]? InputGrad, IReadOnlyList<float[]> ParameterGrads, float[] RandomAfter);

internal static class Steps
{
    /// <summary>
    /// Seeds the generator, runs forward and backward of a weighted sum of the output, and records the output,
    /// the gradients and the next numbers the random stream yields.
    /// </summary>
    public static StepResult Run(nn.Module<Tensor, Tensor> model, Tensor input, Tensor lossWeights, long seed = 1234)
    {
        using var scope = NewDisposeScope();
        model.zero_grad();
        if (input.grad is { } stale)
            stale.zero_();
        manual_seed(seed);
        var output = model.call(input);
        (output * lossWeights).sum().backward();
        var randomAfter = rand(8).data<float>().ToArray();
        return new StepResult(
            output.detach().data<float>().ToArray(),
            input.grad?.data<float>().ToArray(),
            model.parameters().Select(p => p.grad is { } g ? g.data<float>().ToArray() : []).ToList(),
            randomAfter);
    }

    public static void AssertSame(StepResult expected, StepResult actual)
    {
        Assert.Equal(expected.Output, actual.Output);
        Assert.Equal(expected.InputGrad, actual.InputGrad);
        Assert.Equal(expected.ParameterGrads.Count, actual.ParameterGrads.Count);
        for (var i = 0; i < expected.ParameterGrads.Count; i++) {
            Assert.NotEmpty(expected.ParameterGrads[i]);
            Assert.Equal(expected.ParameterGrads[i], actual.ParameterGrads[i]);
        }
        Assert.Equal(expected.RandomAfter, actual.RandomAfter);
    }
}
