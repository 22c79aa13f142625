using System;
using System.Linq;
using ModelGen;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Checkpointing;

[Collection(RandomStreamCollection.Name)]
public sealed class CheckpointTests
{
    private const int Width = 8;
    private const int Hidden = 32;

    private static (MlpBlock Block, Tensor Input, Tensor LossWeights) Setup(bool inputRequiresGrad = true)
    {
        manual_seed(42);
        var block = new MlpBlock(Width, Hidden);
        block.train();
        var input = randn(4, Width).requires_grad_(inputRequiresGrad);
        var weights = randn(4, Width);
        return (block, input, weights);
    }

    [Fact]
    public void Outputs_gradients_and_random_stream_match_the_plain_forward()
    {
        var (block, input, weights) = Setup();

        var plain = Steps.Run(block, input, weights);
        block.Checkpointed = true;
        var checkpointed = Steps.Run(block, input, weights);

        Steps.AssertSame(plain, checkpointed);
        Assert.Equal(4, plain.ParameterGrads.Count);
    }

    [Fact]
    public void Dropout_is_active_so_the_comparison_depends_on_replaying_the_random_stream()
    {
        var (block, input, weights) = Setup();
        block.Checkpointed = true;

        var first = Steps.Run(block, input, weights, seed: 1);
        var second = Steps.Run(block, input, weights, seed: 2);

        Assert.NotEqual(first.Output, second.Output);
        Assert.NotEqual(first.InputGrad, second.InputGrad);
    }

    [Fact]
    public void Two_checkpointed_regions_in_sequence_match_the_plain_forward()
    {
        manual_seed(7);
        var model = new TwoBlocks(Width, Hidden);
        model.train();
        var input = randn(3, Width).requires_grad_();
        var weights = randn(3, Width);

        var plain = Steps.Run(model, input, weights);
        model.Checkpointed = true;
        var checkpointed = Steps.Run(model, input, weights);

        Steps.AssertSame(plain, checkpointed);
        Assert.Equal(8, plain.ParameterGrads.Count);
    }

    [Fact]
    public void Parameters_get_gradients_when_the_input_needs_none()
    {
        var (block, input, weights) = Setup(inputRequiresGrad: false);

        var plain = Steps.Run(block, input, weights);
        block.Checkpointed = true;
        var checkpointed = Steps.Run(block, input, weights);

        Assert.Null(checkpointed.InputGrad);
        Steps.AssertSame(plain, checkpointed);
    }

    [Fact]
    public void Integer_token_input_still_gives_the_embedding_and_linear_their_gradients()
    {
        manual_seed(8);
        var embedding = nn.Embedding(10, Width);
        var head = nn.Linear(Width, 3);
        var parameters = embedding.parameters().Concat(head.parameters()).ToArray();
        var tokens = tensor(new long[] { 1, 4, 4, 9 });
        Tensor Body(Tensor ids) => head.call(nn.functional.gelu(embedding.call(ids)));

        Body(tokens).pow(2).sum().backward();
        var expected = parameters.Select(p => p.grad!.data<float>().ToArray()).ToArray();
        foreach (var parameter in parameters)
            parameter.grad = null;

        Checkpoint.Run(parameters, Body, tokens).pow(2).sum().backward();

        for (var i = 0; i < parameters.Length; i++)
            Assert.Equal(expected[i], parameters[i].grad!.data<float>().ToArray());
    }

    [Fact]
    public void Input_created_and_disposed_in_an_inner_scope_before_backward_still_works()
    {
        var (block, input, weights) = Setup();
        var plain = Steps.Run(block, input, weights);

        block.Checkpointed = true;
        block.zero_grad();
        input.grad?.zero_();
        using var outer = NewDisposeScope();
        manual_seed(1234);
        Tensor loss;
        using (var inner = NewDisposeScope()) {
            // The region's input is a temporary of the inner scope, freed before backward runs.
            var regionInput = input * 1.0f;
            var output = block.call(regionInput);
            loss = inner.MoveToOuter((output * weights).sum());
        }
        loss.backward();

        Assert.Equal(plain.InputGrad, input.grad!.data<float>().ToArray());
        var grads = block.parameters().Select(p => p.grad!.data<float>().ToArray()).ToList();
        for (var i = 0; i < grads.Count; i++)
            Assert.Equal(plain.ParameterGrads[i], grads[i]);
    }

    [Fact]
    public void Repeated_steps_in_dispose_scopes_leave_no_tensor_wrappers_behind()
    {
        var (block, input, weights) = Setup();
        block.Checkpointed = true;
        var statistics = DisposeScopeManager.Statistics;

        Steps.Run(block, input, weights);
        var afterFirst = statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 3; i++)
            Steps.Run(block, input, weights);

        Assert.Equal(afterFirst, statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Without_grad_mode_it_is_the_body_and_builds_no_graph()
    {
        var (block, input, _) = Setup();
        block.eval();
        Tensor expected;
        using (no_grad())
            expected = block.call(input);

        block.Checkpointed = true;
        using (no_grad()) {
            var actual = block.call(input);
            Assert.False(actual.requires_grad);
            Assert.Equal(expected.data<float>().ToArray(), actual.data<float>().ToArray());
        }
    }

    [Fact]
    public void A_frozen_region_with_a_constant_input_is_the_body()
    {
        var (block, input, _) = Setup(inputRequiresGrad: false);
        foreach (var parameter in block.parameters())
            parameter.requires_grad_(false);
        block.Checkpointed = true;

        var output = block.call(input);

        Assert.False(output.requires_grad);
    }

    [Fact]
    public void Weightless_region_such_as_an_attention_core_matches_the_plain_computation()
    {
        manual_seed(3);
        var qkv = randn(2, 5, 3 * 4).requires_grad_();
        var weights = randn(2, 5, 4);
        static Tensor AttentionCore(Tensor x)
        {
            var parts = x.chunk(3, -1);
            var scores = parts[0].matmul(parts[1].transpose(-2, -1)) / Math.Sqrt(4);
            return nn.functional.dropout(scores.softmax(-1), 0.1, training: true).matmul(parts[2]);
        }

        manual_seed(99);
        (AttentionCore(qkv) * weights).sum().backward();
        var expected = qkv.grad!.data<float>().ToArray();
        var expectedRandom = rand(4).data<float>().ToArray();
        qkv.grad!.zero_();

        manual_seed(99);
        (Checkpoint.Run(Array.Empty<Parameter>(), AttentionCore, qkv) * weights).sum().backward();

        Assert.Equal(expected, qkv.grad!.data<float>().ToArray());
        Assert.Equal(expectedRandom, rand(4).data<float>().ToArray());
    }

    [Fact]
    public void A_parameter_listed_twice_gets_its_gradient_once()
    {
        manual_seed(5);
        var weight = nn.Parameter(randn(4, 4));
        var input = randn(2, 4);
        Tensor Body(Tensor x) => x.matmul(weight);

        Body(input).sum().backward();
        var expected = weight.grad!.data<float>().ToArray();
        weight.grad = null;

        Checkpoint.Run([weight, weight], Body, input).sum().backward();

        Assert.Equal(expected, weight.grad!.data<float>().ToArray());
    }

    [Fact]
    public void Bad_arguments_are_rejected_before_any_graph_exists()
    {
        var (block, input, _) = Setup();
        var disposed = randn(2, Width);
        disposed.Dispose();

        Assert.Throws<ArgumentNullException>(() => Checkpoint.Run(block, null!, input));
        Assert.Throws<ArgumentNullException>(() => Checkpoint.Run((nn.Module)null!, x => x, input));
        Assert.Throws<ArgumentNullException>(() => Checkpoint.Run(block, x => x, null!));
        Assert.Throws<ArgumentException>(() => Checkpoint.Run(block, x => x, disposed));
        Assert.Throws<ArgumentException>(() => Checkpoint.Run(new Parameter[] { null! }, x => x, input));
    }

    [Fact]
    public void A_body_that_returns_no_differentiable_tensor_fails_in_the_forward_with_a_clear_message()
    {
        var (block, input, _) = Setup();

        var error = Assert.Throws<InvalidOperationException>(() => Checkpoint.Run(block, x => x.argmax(-1), input));

        Assert.Contains("Int64", error.Message);
        Assert.Contains("floating-point", error.Message);
    }
}
