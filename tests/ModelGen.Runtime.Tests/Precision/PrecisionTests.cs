using System;
using System.Linq;
using ModelGen;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Precision;

public sealed class PrecisionTests
{
    [Theory]
    [InlineData(DType.Float32, ScalarType.Float32)]
    [InlineData(DType.BFloat16, ScalarType.BFloat16)]
    [InlineData(DType.Float16, ScalarType.Float16)]
    public void ToScalarType_maps_each_dtype(DType dtype, ScalarType expected) =>
        Assert.Equal(expected, ModelGen.Precision.ToScalarType(dtype));

    [Fact]
    public void ToScalarType_rejects_an_undefined_value() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelGen.Precision.ToScalarType((DType)42));

    [Theory]
    [InlineData(DType.Float16, DType.BFloat16, DType.Float32, DType.Float16)]
    [InlineData(null, DType.BFloat16, DType.Float16, DType.BFloat16)]
    [InlineData(null, null, DType.Float16, DType.Float16)]
    [InlineData(null, null, null, DType.Float32)]
    [InlineData(DType.Float32, null, DType.BFloat16, DType.Float32)]
    public void Resolve_takes_the_nearest_declaration(DType? block, DType? layer, DType? parent, DType expected) =>
        Assert.Equal(expected, ModelGen.Precision.Resolve(block, layer, parent));

    [Fact]
    public void Resolve_rejects_an_undefined_value() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelGen.Precision.Resolve(null, (DType)7, null));

    [Fact]
    public void SoftmaxFp32_on_bf16_matches_fp32_softmax_within_bf16_rounding()
    {
        manual_seed(11);
        // Long rows with a wide range: the sum of 4096 terms is where bf16 arithmetic would lose digits.
        var scores = (randn(8, 4096) * 6).to_type(ScalarType.BFloat16);

        var actual = ModelGen.Precision.SoftmaxFp32(scores, -1);
        var reference = scores.to_type(ScalarType.Float32).softmax(-1);

        Assert.Equal(ScalarType.BFloat16, actual.dtype);
        // Only the final rounding to bf16 remains: relative error at most 2^-8 of each probability.
        var relative = ((actual.to_type(ScalarType.Float32) - reference).abs() / reference).max().item<float>();
        Assert.InRange(relative, 0f, 1f / 256);
        var rowSums = actual.to_type(ScalarType.Float32).sum(-1);
        Assert.True(rowSums.allclose(ones(8), rtol: 0, atol: 0.02));
    }

    [Fact]
    public void SoftmaxFp32_keeps_fp32_input_as_is()
    {
        var scores = randn(3, 5);
        Assert.True(ModelGen.Precision.SoftmaxFp32(scores, 1).allclose(scores.softmax(1), rtol: 0, atol: 0));
    }

    [Fact]
    public void SoftmaxFp32_rejects_integer_scores() =>
        Assert.Throws<ArgumentException>(() => ModelGen.Precision.SoftmaxFp32(ones(3, dtype: ScalarType.Int64), 0));

    [Fact]
    public void CrossEntropyFp32_on_bf16_sequence_logits_equals_fp32_loss_and_flows_gradients()
    {
        manual_seed(12);
        var logits = randn(2, 3, 10).to_type(ScalarType.BFloat16).requires_grad_();
        var targets = randint(10, [2, 3]);

        var loss = ModelGen.Precision.CrossEntropyFp32(logits, targets);
        var reference = nn.functional.cross_entropy(logits.detach().to_type(ScalarType.Float32).reshape(6, 10), targets.reshape(6));

        Assert.Equal(ScalarType.Float32, loss.dtype);
        Assert.Equal(reference.item<float>(), loss.item<float>());
        loss.backward();
        Assert.Equal(ScalarType.BFloat16, logits.grad!.dtype);
        Assert.Equal(logits.shape, logits.grad!.shape);
    }

    [Fact]
    public void CrossEntropyFp32_rejects_mismatched_targets()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            ModelGen.Precision.CrossEntropyFp32(randn(2, 3, 10), randint(10, [2, 4])));
        Assert.Contains("[2, 3]", error.Message);
        Assert.Throws<ArgumentException>(() => ModelGen.Precision.CrossEntropyFp32(randn(4, 10), randn(4)));
        Assert.Throws<ArgumentException>(() => ModelGen.Precision.CrossEntropyFp32(randn(10), randint(10, [1])));
    }
}
