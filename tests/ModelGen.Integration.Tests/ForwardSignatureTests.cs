using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

/// <summary>
/// Generated modules whose Forward takes several tensors and returns a record or a tuple (docs/attributes.md, "Forward"):
/// forward and backward with activation checkpointing equal the plain ones, ids and masks are never cast, every output
/// outlives the forward's dispose scope.
/// </summary>
[Collection(GlobalRandomStream.Name)]
public class ForwardSignatureTests
{
    private static readonly BertLikeConfig Config = new();

    private static (Tensor ids, Tensor mask, Tensor types, Tensor labels) Batch()
    {
        var ids = torch.randint(0, Config.Vocab, new long[] { 3, 7 }, dtype: ScalarType.Int64);
        var mask = torch.ones(3, 7, dtype: ScalarType.Int64);
        mask[1, TensorIndex.Slice(5)] = torch.tensor(0L);
        mask[2, TensorIndex.Slice(2)] = torch.tensor(0L);
        var types = torch.zeros(3, 7, dtype: ScalarType.Int64);
        types[TensorIndex.Colon, TensorIndex.Slice(4)] = torch.tensor(1L);
        var labels = torch.randint(0, Config.Vocab, new long[] { 3, 7 }, dtype: ScalarType.Int64);
        return (ids, mask, types, labels);
    }

    /// <summary>Forward plus backward of loss + pooled² with dropout on; the record's tensors and every parameter gradient.</summary>
    private static (Tensor Logits, Tensor Pooled, Tensor Loss, int Layers, Dictionary<string, Tensor> Grads) Step(BertLike model, bool checkpoint)
    {
        model.CheckpointActivations = checkpoint;
        foreach (var layer in model.Layers.OfType<MaskedEncoderLayer>())
            layer.CheckpointActivations = checkpoint;
        model.train();
        model.zero_grad();
        var (ids, mask, types, labels) = Batch();
        torch.manual_seed(99);
        BertLikeOutput output;
        using (torch.NewDisposeScope())
        {
            // The outputs must survive this scope: the generated forward moved them to the caller's.
            output = model.call(ids, mask, types, labels);
            output.Logits.MoveToOuterDisposeScope();
            output.Pooled.MoveToOuterDisposeScope();
            output.Loss!.MoveToOuterDisposeScope();
        }
        (output.Loss! + output.Pooled.pow(2).sum()).backward();
        var grads = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        return (output.Logits.detach(), output.Pooled.detach(), output.Loss!.detach(), output.LayersRun, grads);
    }

    [Fact]
    public void A_bert_like_model_checkpointed_gives_the_plain_forward_and_gradients()
    {
        torch.manual_seed(3);
        using var model = new BertLike(Config);
        torch.manual_seed(5);
        var plain = Step(model, checkpoint: false);
        torch.manual_seed(5);
        var checkpointed = Step(model, checkpoint: true);

        Assert.True(plain.Logits.Equals(checkpointed.Logits), "logits differ");
        Assert.True(plain.Pooled.Equals(checkpointed.Pooled), "pooled outputs differ");
        Assert.True(plain.Loss.Equals(checkpointed.Loss), "losses differ");
        Assert.Equal(2, checkpointed.Layers); // a non-tensor member survives the checkpoint's rebuild
        Assert.Contains("types.weight", plain.Grads.Keys);
        foreach (var (name, grad) in plain.Grads)
        {
            Assert.True(grad.Equals(checkpointed.Grads[name]), $"gradient of {name} differs");
            Assert.True(grad.abs().sum().item<float>() > 0, $"{name} got no gradient");
        }
    }

    [Fact]
    public void The_padding_mask_reaches_the_layers_and_optional_inputs_may_be_left_out()
    {
        torch.manual_seed(3);
        using var model = new BertLike(Config);
        model.eval();
        var (ids, mask, _, _) = Batch();
        using var noGrad = torch.no_grad();
        var withoutMask = model.call(ids, null, null, null);
        var withMask = model.call(ids, mask, null, null);
        Assert.Null(withoutMask.Loss);
        // Row 0 has no padding: identical; row 1 is padded: the mask changed its hidden states.
        Assert.True(withoutMask.Logits[0].allclose(withMask.Logits[0], rtol: 1e-5, atol: 1e-6));
        Assert.False(withoutMask.Logits[1].allclose(withMask.Logits[1], rtol: 1e-3, atol: 1e-4));
    }

    [Fact]
    public void A_bf16_layer_casts_floating_inputs_only_and_checkpoints_a_tuple_with_an_integer_member()
    {
        torch.manual_seed(11);
        using var layer = new TwoOutputs(Config);
        var x = torch.randn(2, 3, Config.Hidden).requires_grad_(true);
        var select = torch.ones(2, 3, dtype: ScalarType.Int64);

        var plain = Run(checkpoint: false);
        var checkpointed = Run(checkpoint: true);
        Assert.Equal(ScalarType.BFloat16, checkpointed.Hidden.dtype);
        Assert.Equal(ScalarType.Int64, checkpointed.Argmax.dtype); // select (int64) was not cast to bf16
        Assert.True(plain.Hidden.Equals(checkpointed.Hidden));
        Assert.True(plain.Argmax.Equals(checkpointed.Argmax));
        Assert.True(plain.InputGrad.Equals(checkpointed.InputGrad));
        Assert.True(plain.WeightGrad.Equals(checkpointed.WeightGrad));

        (Tensor Hidden, Tensor Argmax, Tensor InputGrad, Tensor WeightGrad) Run(bool checkpoint)
        {
            layer.CheckpointActivations = checkpoint;
            layer.zero_grad();
            x.grad?.zero_();
            var (hidden, argmax) = layer.call(x, select);
            hidden.to_type(ScalarType.Float32).pow(2).sum().backward();
            return (hidden.detach(), argmax!, x.grad!.clone(), layer.Proj.weight!.grad!.clone());
        }
    }

    [Fact]
    public void A_single_input_model_keeps_its_classic_module_type()
    {
        Assert.Equal(typeof(nn.Module<Tensor, Tensor>), typeof(CheckpointedMlp).BaseType);
        Assert.Equal(typeof(nn.Module<Tensor, Tensor, Tensor, Tensor, BertLikeOutput>), typeof(BertLike).BaseType);
        Assert.Equal(typeof(nn.Module<Tensor, Tensor, Tensor>), typeof(MaskedEncoderLayer).BaseType);
    }
}
