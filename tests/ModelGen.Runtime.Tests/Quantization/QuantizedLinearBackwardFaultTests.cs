using System;
using ModelGen.Quantization;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Quantization;

/// <summary>
/// An exception inside the quantized Linear's C# backward would end the process inside TorchSharp's native engine; it is
/// recorded instead and surfaces as a .NET exception after backward. Run alone (the failures are recorded process-wide, and a
/// quantized forward in a test running beside it would pick them up: seen once while the prefill tile tests ran).
/// </summary>
[Collection(Checkpointing.BackwardFailureTests.Name)]
public sealed class QuantizedLinearBackwardFaultTests
{
    [Fact]
    public void A_weight_changed_between_forward_and_backward_surfaces_after_backward_and_the_process_lives()
    {
        using var layer = new QuantizedLinear(64, 32, hasBias: true, QuantKind.Int8);
        using var x = randn(4, 64).requires_grad_(true);
        using var y = layer.call(x);
        using var loss = y.sum();
        // Re-quantizing writes the buffers in place, so the saved ones are stale: backward's get_saved_variables throws.
        using (var w = randn(32, 64)) layer.QuantizeFrom(w);

        var e = Assert.Throws<BackwardException>(() => BackwardFailures.Backward(loss));
        Assert.Contains("QuantizedLinear failed in backward", e.Failures[0].Message, StringComparison.Ordinal);
        Assert.False(BackwardFailures.HasPending);

        // The process and the layer still work.
        using var x2 = randn(4, 64).requires_grad_(true);
        using var loss2 = layer.call(x2).sum();
        BackwardFailures.Backward(loss2);
        Assert.NotNull(x2.grad);
    }

    [Fact]
    public void A_fault_not_collected_after_backward_is_thrown_by_the_next_forward()
    {
        using var layer = new QuantizedLinear(64, 32, hasBias: false, QuantKind.Int4, 32);
        using var x = randn(2, 64).requires_grad_(true);
        using var loss = layer.call(x).sum();
        using (var w = randn(32, 64)) layer.QuantizeFrom(w);
        loss.backward(); // plain TorchSharp backward: the process survives, the fault waits
        Assert.True(BackwardFailures.HasPending);
        Assert.Throws<BackwardException>(() => layer.call(x));
        Assert.False(BackwardFailures.HasPending);
    }
}
