using System.Linq;
using ModelGen.Quantization;
using ModelGen.Runtime.Tests.Diagnostics;
using static TorchSharp.torch;
using static ModelGen.Runtime.Tests.Quantization.QuantTestData;

namespace ModelGen.Runtime.Tests.Quantization;

/// <summary>Quantized weights are frozen buffers; gradients still reach the input and the bias.</summary>
[Collection(HostMemoryCollection.Name)]
public sealed class QuantizedLinearGradientTests
{
    [Theory]
    [MemberData(nameof(Formats), MemberType = typeof(QuantTestData))]
    public void Only_the_bias_is_a_parameter_and_no_buffer_requires_grad(QuantKind kind, int groupSize, bool doubleQuant)
    {
        using var layer = new QuantizedLinear(128, 16, true, kind, groupSize, doubleQuant, ScalarType.Float32, null);

        Assert.Equal(new[] { "bias" }, layer.named_parameters().Select(p => p.name));
        Assert.All(layer.buffers(), b => Assert.False(b.requires_grad));
    }

    [Theory]
    [MemberData(nameof(Formats), MemberType = typeof(QuantTestData))]
    public void Input_and_bias_gradients_equal_those_of_the_dequantized_linear(QuantKind kind, int groupSize, bool doubleQuant)
    {
        using var linear = GaussianLinear(128, 16, seed: 21);
        using var layer = QuantizedLinear.FromLinear(linear, kind, groupSize, doubleQuant);
        using var x = GaussianInput(6, 128, seed: 22).reshape(2, 3, 128).requires_grad_();
        using var upstream = GaussianInput(6, 16, seed: 23).reshape(2, 3, 16);
        using (var y = layer.call(x))
        using (var loss = (y * upstream).sum())
            loss.backward();

        using var w = layer.Dequantize();
        using var xRef = x.detach().clone().requires_grad_();
        using var bRef = layer.bias!.detach().clone().requires_grad_();
        using (var yRef = nn.functional.linear(xRef, w, bRef))
        using (var lossRef = (yRef * upstream).sum())
            lossRef.backward();

        Assert.True(x.grad!.allclose(xRef.grad!, rtol: 1e-5, atol: 1e-6));
        Assert.True(layer.bias!.grad!.allclose(bRef.grad!, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void Input_gradient_flows_without_a_bias_and_in_bfloat16()
    {
        using var linear = GaussianLinear(128, 16, seed: 24, hasBias: false);
        using var layer = QuantizedLinear.FromLinear(linear, QuantKind.NF4, 64, false, ScalarType.BFloat16);
        using var x = GaussianInput(4, 128, seed: 25).to(ScalarType.BFloat16).requires_grad_();
        using (var y = layer.call(x))
        using (var loss = y.sum())
            loss.backward();

        // d(Σy)/dx = Σ_rows W for every input row; bf16 sums of 16 terms round to within 2^-8 relative.
        using var w = layer.Dequantize().to(ScalarType.Float32);
        using var expected = w.sum(dim: 0).expand(4, 128);
        using var grad = x.grad!.to(ScalarType.Float32);
        Assert.Equal(ScalarType.BFloat16, x.grad!.dtype);
        Assert.True(grad.allclose(expected, rtol: 1e-2, atol: 1e-3));
    }

    [Fact]
    public void An_optimizer_step_changes_the_bias_and_leaves_the_stored_weight_untouched()
    {
        using var linear = GaussianLinear(128, 16, seed: 26);
        using var layer = QuantizedLinear.FromLinear(linear, QuantKind.Int4, 64);
        var before = layer.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        using var optimizer = optim.SGD(layer.parameters(), 0.1);
        using var x = GaussianInput(4, 128, seed: 27);
        using (var y = layer.call(x))
        using (var loss = y.square().sum())
            loss.backward();
        optimizer.step();

        var after = layer.state_dict();
        foreach (var name in layer.QuantizedBufferNames)
            Assert.True(Identical(after[name], before[name]), $"'{name}' changed in an optimizer step.");
        Assert.False(Identical(after["bias"], before["bias"]));
    }

    [Fact]
    public void The_graph_keeps_no_dequantized_weight_between_forward_and_backward()
    {
        // 4096² Int8: 16 MiB stored; a float32 dequantized copy would be 64 MiB (mmap-sized, so freeing it returns it at once).
        using var layer = new QuantizedLinear(4096, 4096, false, QuantKind.Int8, 0, false, ScalarType.Float32, null);
        using var x = GaussianInput(1, 4096, seed: 28).requires_grad_();
        using (var warm = layer.call(x)) { }

        long before = MemoryMonitor.ResidentBytes();
        using var y = layer.call(x);
        long retained = MemoryMonitor.ResidentBytes() - before;
        using (var loss = y.sum())
            loss.backward();

        Assert.True(retained < 16L << 20, $"Forward retained {retained >> 20} MiB; a dequantized copy would be 64 MiB.");
        Assert.NotNull(x.grad);
    }
}
