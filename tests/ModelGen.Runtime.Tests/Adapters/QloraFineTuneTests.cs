using System.Linq;
using ModelGen.Adapters;
using ModelGen.Optimizers;
using ModelGen.Quantization;
using ModelGen.Runtime.Tests.Quantization;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Adapters;

/// <summary>The whole QLoRA recipe on a tiny model: NF4 base, adapters, 8-bit AdamW; the loss must fall.</summary>
public sealed class QloraFineTuneTests
{
    [Fact]
    public void A_tiny_nf4_model_fine_tunes_with_qlora_and_8bit_adamw_and_its_loss_falls()
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        manual_seed(40);
        var model = new TinyQuantizedClassifier(QuantKind.NF4);
        var baseState = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        var adapters = LoRA.Apply(model, new LoraOptions { Rank = 8, Alpha = 16, Dropout = 0.05, TargetModules = new[] { "up_proj", "down_proj" } });
        var trainable = LoRA.TrainableParameters(model);
        Assert.Equal(4, trainable.Count);
        Assert.Equal(adapters.Sum(a => a.Adapter.ParameterCount), trainable.Sum(p => p.numel()));

        // A fixed batch whose labels the frozen random model does not predict: only the adapters can learn them.
        var generator = new Generator(41);
        using var x = randn(new long[] { 64, 64 }, generator: generator);
        using var labels = randint(0, 4, new long[] { 64 }, generator: generator);
        // minQuantizedSize 0: the adapters are small, and the test is about the 8-bit path.
        using var optimizer = new AdamW8Bit(trainable, lr: 1e-2, minQuantizedSize: 0, blockSize: 256);

        model.train();
        double first = 0, last = 0;
        for (int step = 0; step < 40; step++)
        {
            using var scope = NewDisposeScope();
            var loss = nn.functional.cross_entropy(model.call(x), labels);
            loss.backward();
            optimizer.step();
            optimizer.zero_grad();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }

        Assert.True(last < 0.5 * first, $"QLoRA loss went from {first:F4} to {last:F4}; expected it to halve");
        // The base did not move: the quantized buffers and every frozen parameter are as they were.
        foreach (var (key, value) in baseState)
            Assert.True(QuantTestData.Identical(value, model.state_dict()[key]), $"frozen '{key}' changed");
    }
}
