using System;
using System.Linq;
using ModelGen;
using ModelGen.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Checkpointing;

/// <summary>
/// An exception inside a checkpoint's recompute (C# backward) must not end the process: it surfaces as a .NET exception after
/// backward. Run alone: the failures are recorded process-wide, and another test's forward would otherwise pick them up.
/// </summary>
[Collection(Name)]
public sealed class BackwardFailureTests
{
    public const string Name = "Backward failures";

    /// <summary>A body that works in the forward and throws on its recompute (its second call).</summary>
    private static (Func<Tensor, Tensor> Body, nn.Module<Tensor, Tensor> Layer) FailingOnRecompute(string message)
    {
        var layer = nn.Linear(4, 4);
        var calls = 0;
        return (x => ++calls == 2 ? throw new InvalidOperationException(message) : layer.call(x).tanh(), layer);
    }

    [Fact]
    public void A_recompute_that_throws_surfaces_after_backward_with_its_cause()
    {
        var (body, layer) = FailingOnRecompute("disk on fire");
        var input = randn(3, 4, requires_grad: true);
        var loss = Checkpoint.Run(layer, body, input).sum();

        var failure = Assert.Throws<BackwardException>(() => BackwardFailures.Backward(loss));

        Assert.Contains("checkpointed region", failure.Message);
        Assert.Contains("disk on fire", failure.Message);
        Assert.Single(failure.Failures);
        Assert.Equal("disk on fire", failure.InnerException!.InnerException!.Message);
        // The node handed back no gradient: nothing half-computed reached the parameters.
        Assert.All(layer.parameters(), p => Assert.True(p.grad is null || p.grad.eq(0).all().item<bool>()));
        BackwardFailures.ThrowIfAny(); // consumed: nothing left to throw
    }

    [Fact]
    public void A_failure_nobody_asked_for_surfaces_at_the_next_checkpointed_forward()
    {
        var (body, layer) = FailingOnRecompute("late");
        Checkpoint.Run(layer, body, randn(2, 4, requires_grad: true)).sum().backward(); // plain backward: returns normally

        var failure = Assert.Throws<BackwardException>(() => Checkpoint.Run(layer, x => layer.call(x), randn(2, 4, requires_grad: true)));
        Assert.Contains("late", failure.Message);
        // After the failure was reported, checkpointing works again.
        var output = Checkpoint.Run(layer, x => layer.call(x), randn(2, 4, requires_grad: true));
        BackwardFailures.Backward(output.sum());
    }

    [Fact]
    public void The_optimizer_refuses_to_step_on_incomplete_gradients_and_frees_them()
    {
        var (body, layer) = FailingOnRecompute("bad shape");
        using var optimizer = new AdamW(layer.parameters());
        var before = layer.parameters().Select(p => p.detach().clone()).ToArray();
        Checkpoint.Run(layer, body, randn(2, 4, requires_grad: true)).sum().backward();

        Assert.Throws<BackwardException>(() => optimizer.Step());

        var after = layer.parameters().ToArray();
        for (var i = 0; i < before.Length; i++)
            Assert.True(before[i].eq(after[i]).all().item<bool>());
        Assert.All(after, p => Assert.Null(p.grad));
    }

    [Fact]
    public void A_recompute_with_another_shape_is_reported_not_fatal()
    {
        var layer = nn.Linear(4, 4);
        var calls = 0;
        var input = randn(3, 4, requires_grad: true);
        var loss = Checkpoint.Run(layer, x => ++calls == 1 ? layer.call(x) : layer.call(x).narrow(0, 0, 1), input).sum();

        var failure = Assert.Throws<BackwardException>(() => BackwardFailures.Backward(loss));

        Assert.Contains("same shapes", failure.Message);
    }
}

[CollectionDefinition(BackwardFailureTests.Name, DisableParallelization = true)]
public sealed class BackwardFailureCollection;
