using System;
using System.Linq;
using LlamaSample;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

/// <summary>
/// A generated Llama decoder block stored in bf16 or fp16 against the same weights in fp32. Rounding to a format with unit
/// roundoff u (bf16 2⁻⁸, fp16 2⁻¹¹) perturbs every weight and activation by a relative u/2 on average; through the block's
/// few dozen dependent roundings (projections, rotary, softmax in fp32, SwiGLU, the residual adds) the output's relative
/// error stays a small multiple of u. The bounds are 8u for the output and 12u for the input gradient (bf16: 0.031 and
/// 0.047; fp16: 0.0039 and 0.0059); measured values are several times smaller.
/// </summary>
[Collection(GlobalRandomStream.Name)]
public class PrecisionTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Theory]
    [InlineData(DType.BFloat16, 1.0 / 256)]
    [InlineData(DType.Float16, 1.0 / 2048)]
    public void Sixteen_bit_block_is_within_its_rounding_bound_of_fp32(DType dtype, double unitRoundoff)
    {
        var config = LlamaConfig.Tiny;
        torch.manual_seed(3);
        using var reference = new DecoderBlock(config, DType.Float32);
        using var reduced = new DecoderBlock(config, dtype);
        CopyWeights(reference, reduced);
        Assert.All(reduced.parameters(), p => Assert.Equal(Precision.ToScalarType(dtype), p.dtype));

        var input = torch.randn(2, 12, config.Hidden);
        var (output32, grad32) = Run(reference, input);
        var (output16, grad16) = Run(reduced, input);

        Assert.Equal(Precision.ToScalarType(dtype), output16.dtype);
        var outputError = RelativeError(output16, output32);
        var gradError = RelativeError(grad16, grad32);
        output.WriteLine($"{dtype}: output relative error {outputError:G3} (bound {8 * unitRoundoff:G3}), input gradient {gradError:G3} (bound {12 * unitRoundoff:G3})");
        Assert.True(outputError <= 8 * unitRoundoff, $"{dtype} output relative error {outputError:G3} > 8u = {8 * unitRoundoff:G3}");
        Assert.True(gradError <= 12 * unitRoundoff, $"{dtype} input-gradient relative error {gradError:G3} > 12u = {12 * unitRoundoff:G3}");
        Assert.True(outputError > 0, "the 16-bit run must really round (an error of exactly 0 means it ran in fp32)");
    }

    private static (Tensor Output, Tensor InputGrad) Run(DecoderBlock block, Tensor input)
    {
        var x = input.detach().clone().requires_grad_(true);
        var output = block.call(x);
        // A fixed random projection of the output, so every element's gradient matters.
        torch.manual_seed(11);
        var weights = torch.randn(output.shape).to(output.dtype);
        (output * weights).sum().backward();
        return (output.detach(), x.grad!.detach());
    }

    private static double RelativeError(Tensor actual, Tensor expected)
    {
        var difference = actual.to(ScalarType.Float64) - expected.to(ScalarType.Float64);
        return difference.norm().item<double>() / expected.to(ScalarType.Float64).norm().item<double>();
    }

    private static void CopyWeights(nn.Module source, nn.Module target)
    {
        var from = source.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var noGrad = torch.no_grad();
        foreach (var (name, parameter) in target.named_parameters())
            parameter.copy_(from[name]);
    }
}
