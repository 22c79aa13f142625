using System.Linq;
using ModelGen.Nn;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Nn;

[Collection(ModelGen.Runtime.Tests.Checkpointing.RandomStreamCollection.Name)]
public class SelectiveCheckpointTests
{
    private static (Tensor Output, Tensor InputGrad, Tensor[] ParamGrads) Step(Attention attention, Tensor input)
    {
        attention.zero_grad();
        var x = input.detach().clone().requires_grad_(true);
        torch.manual_seed(99);
        var y = attention.call(x);
        (y * y).sum().backward();
        return (y.detach().clone(), x.grad!.clone(), attention.parameters().Select(p => p.grad!.clone()).ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Recomputing_the_core_gives_the_same_outputs_and_gradients_with_attention_dropout(bool fused)
    {
        torch.manual_seed(5);
        using var attention = new Attention(32, 4, 2, causal: true, rotary: true, fused: fused, bias: true, dropout: 0.25);
        attention.train();
        var input = torch.randn(2, 6, 32);

        var plain = Step(attention, input);
        attention.CheckpointCore = true;
        var selective = Step(attention, input);

        Assert.True(plain.Output.Equals(selective.Output), "outputs differ");
        Assert.True(plain.InputGrad.Equals(selective.InputGrad), "input gradients differ");
        for (var i = 0; i < plain.ParamGrads.Length; i++)
            Assert.True(plain.ParamGrads[i].Equals(selective.ParamGrads[i]), $"gradient {i} differs");
    }
}
