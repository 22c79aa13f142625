using System.Linq;
using ModelGen;
using ModelGen.Adapters;
using ModelGen.Memory;
using ModelGen.Nn;
using ModelGen.Specs;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

/// <summary>Sizes of the tiny T5-like models.</summary>
public sealed record T5Config
{
    public int Vocab { get; init; } = 48;
    public int Hidden { get; init; } = 32;
    public int Heads { get; init; } = 4;
    public int Ffn { get; init; } = 64;
    public int Layers { get; init; } = 2;
}

/// <summary>A T5 encoder layer: pre-RMSNorm, bidirectional self-attention with relative position bias (unscaled), ReLU feed-forward.</summary>
[Layer(typeof(T5Config))]
public partial class T5EncoderLayer
{
    [RmsNorm(nameof(T5Config.Hidden))] public partial RmsNorm AttnNorm { get; }
    [RelativeAttention(nameof(T5Config.Hidden), nameof(T5Config.Heads), Buckets = 8, MaxDistance = 16)] public partial RelativeAttention Attn { get; }
    [RmsNorm(nameof(T5Config.Hidden))] public partial RmsNorm MlpNorm { get; }
    [FeedForward(nameof(T5Config.Hidden), nameof(T5Config.Ffn), Activation = FeedForwardActivation.Relu, Bias = false)] public partial FeedForward Mlp { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(AttnNorm.call(x));
        return x + Mlp.call(MlpNorm.call(x));
    }
}

/// <summary>A T5 decoder layer: causal self-attention with one-sided relative bias, cross-attention to the encoder output, ReLU feed-forward.</summary>
[Layer(typeof(T5Config))]
public partial class T5DecoderLayer
{
    [RmsNorm(nameof(T5Config.Hidden))] public partial RmsNorm SelfNorm { get; }
    [RelativeAttention(nameof(T5Config.Hidden), nameof(T5Config.Heads), Causal = true, Buckets = 8, MaxDistance = 16)] public partial RelativeAttention SelfAttn { get; }
    [RmsNorm(nameof(T5Config.Hidden))] public partial RmsNorm CrossNorm { get; }
    [CrossAttention(nameof(T5Config.Hidden), nameof(T5Config.Heads), Scaled = false)] public partial CrossAttention Cross { get; }
    [RmsNorm(nameof(T5Config.Hidden))] public partial RmsNorm MlpNorm { get; }
    [FeedForward(nameof(T5Config.Hidden), nameof(T5Config.Ffn), Activation = FeedForwardActivation.Relu, Bias = false)] public partial FeedForward Mlp { get; }

    private Tensor Forward(Tensor x, [Input(InputShape.Hidden, Width = nameof(T5Config.Hidden))] Tensor memory)
    {
        x = x + SelfAttn.call(SelfNorm.call(x));
        x = x + Cross.call(CrossNorm.call(x), memory);
        return x + Mlp.call(MlpNorm.call(x));
    }
}

/// <summary>A tiny T5: shared embedding, encoder stack, decoder stack reading the encoder output, LM head.</summary>
[Model(typeof(T5Config))]
public partial class TinyT5
{
    [Embedding(nameof(T5Config.Vocab), nameof(T5Config.Hidden))] public partial Embedding Shared { get; }
    [Stack(nameof(T5Config.Layers))] public partial ModuleList<T5EncoderLayer> Encoder { get; }
    [RmsNorm(nameof(T5Config.Hidden))] public partial RmsNorm EncoderNorm { get; }
    [Stack(nameof(T5Config.Layers))] public partial ModuleList<T5DecoderLayer> Decoder { get; }
    [RmsNorm(nameof(T5Config.Hidden))] public partial RmsNorm DecoderNorm { get; }
    [Linear(nameof(T5Config.Hidden), nameof(T5Config.Vocab), Bias = false), Head(HeadKind.LanguageModel)] public partial Linear LmHead { get; }

    private Tensor Forward(Tensor source, [Input(InputShape.Tokens)] Tensor target)
    {
        var memory = Shared.call(source);
        foreach (var layer in Encoder)
            memory = layer.call(memory);
        memory = EncoderNorm.call(memory);
        var x = Shared.call(target);
        foreach (var layer in Decoder)
            x = layer.call(x, memory);
        return LmHead.call(DecoderNorm.call(x));
    }
}

/// <summary>A decoder layer whose cross-attention and self-attention projections q and v carry LoRA adapters (PEFT names).</summary>
[Layer(typeof(T5Config)), LoRA(4, "q_proj", "v_proj", Alpha = 8)]
public partial class LoraT5DecoderLayer
{
    [RmsNorm(nameof(T5Config.Hidden))] public partial RmsNorm SelfNorm { get; }
    [RelativeAttention(nameof(T5Config.Hidden), nameof(T5Config.Heads), Causal = true, Buckets = 8, MaxDistance = 16)] public partial RelativeAttention SelfAttn { get; }
    [RmsNorm(nameof(T5Config.Hidden))] public partial RmsNorm CrossNorm { get; }
    [CrossAttention(nameof(T5Config.Hidden), nameof(T5Config.Heads), Scaled = false)] public partial CrossAttention Cross { get; }

    private Tensor Forward(Tensor x, [Input(InputShape.Hidden, Width = nameof(T5Config.Hidden))] Tensor memory)
    {
        x = x + SelfAttn.call(SelfNorm.call(x));
        return x + Cross.call(CrossNorm.call(x), memory);
    }
}

/// <summary>A model of LoRA decoder layers over a given encoder output (the embedding stands in for an encoder).</summary>
[Model(typeof(T5Config))]
public partial class LoraT5Decoder
{
    [Embedding(nameof(T5Config.Vocab), nameof(T5Config.Hidden))] public partial Embedding Shared { get; }
    [Stack(nameof(T5Config.Layers))] public partial ModuleList<LoraT5DecoderLayer> Decoder { get; }
    [Linear(nameof(T5Config.Hidden), nameof(T5Config.Vocab), Bias = false), Head(HeadKind.LanguageModel)] public partial Linear LmHead { get; }

    private Tensor Forward(Tensor source, [Input(InputShape.Tokens)] Tensor target)
    {
        var memory = Shared.call(source);
        var x = Shared.call(target);
        foreach (var layer in Decoder)
            x = layer.call(x, memory);
        return LmHead.call(x);
    }
}

[Collection(GlobalRandomStream.Name)]
public class EncoderDecoderTests
{
    private static readonly T5Config Config = new();

    private static Tensor Loss(nn.Module<Tensor, Tensor, Tensor> model, Tensor source, Tensor target) =>
        Precision.CrossEntropyFp32(model.call(source, target).reshape(-1, Config.Vocab), target.roll(-1, 1).reshape(-1));

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.BFloat16)]
    public void The_tiny_T5_trains_from_generated_code_with_encoder_and_decoder_of_different_lengths(DType precision)
    {
        manual_seed(21);
        using var model = new TinyT5(Config, precision);
        var source = randint(0, Config.Vocab, new long[] { 4, 12 });
        var target = randint(0, Config.Vocab, new long[] { 4, 7 });
        model.train();
        using var optimizer = new ModelGen.Optimizers.AdamW(model.parameters(), learningRate: 1e-2);
        float first = 0, last = 0;
        for (var step = 0; step < 25; step++)
        {
            using var scope = NewDisposeScope();
            var loss = Loss(model, source, target);
            BackwardFailures.Backward(loss);
            if (step == 0)
            {
                // The encoder learns only through the decoder's cross-attention: its first layer's weights and bias table get gradients.
                Assert.True(model.Encoder.Cast<T5EncoderLayer>().First().Attn.q_proj.weight.grad!.abs().max().to(ScalarType.Float32).item<float>() > 0);
                Assert.True(model.Encoder.Cast<T5EncoderLayer>().First().Attn.relative_attention_bias.weight.grad!.abs().max().to(ScalarType.Float32).item<float>() > 0);
            }
            optimizer.Step();
            last = loss.item<float>();
            if (step == 0)
                first = last;
        }
        Assert.True(last < first * 0.5, $"loss did not fall in {precision}: {first} -> {last}");

        var keys = model.state_dict().Keys.ToHashSet();
        Assert.Contains("encoder.0.attn.relative_attention_bias.weight", keys);
        Assert.Contains("decoder.1.self_attn.relative_attention_bias.weight", keys);
        Assert.Contains("decoder.1.cross.k_proj.weight", keys);
        var estimate = MemoryModel.Estimate(TinyT5.DescribeModel(Config), new ScenarioSpec(1, Workload.Training, 12, 4, Optimizer.AdamW), DeviceProfile.Cpu);
        Assert.Equal(model.parameters().Sum(p => p.numel()), estimate.ParameterCount);
    }

    [Fact]
    public void Checkpointed_decoder_layers_give_the_plain_gradients_including_the_encoders()
    {
        manual_seed(22);
        using var plain = new TinyT5(Config);
        using var checkpointed = new TinyT5(Config);
        checkpointed.load_state_dict(plain.state_dict());
        foreach (var layer in checkpointed.Decoder)
            layer.CheckpointActivations = true; // what [Checkpoint] on the layer class sets: both inputs kept, the body recomputed
        var source = randint(0, Config.Vocab, new long[] { 2, 9 });
        var target = randint(0, Config.Vocab, new long[] { 2, 5 });
        var plainLoss = Loss(plain, source, target);
        BackwardFailures.Backward(plainLoss);
        var checkpointedLoss = Loss(checkpointed, source, target);
        BackwardFailures.Backward(checkpointedLoss);
        Assert.Equal(plainLoss.item<float>(), checkpointedLoss.item<float>(), 6);
        var expected = plain.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!);
        foreach (var (name, parameter) in checkpointed.named_parameters())
        {
            var difference = (parameter.grad! - expected[name]).abs().max().item<float>();
            Assert.True(difference <= 1e-6f, $"{name}: checkpointed gradient differs by {difference}");
        }
    }

    [Fact]
    public void LoRA_adapts_the_encoder_decoder_projections_as_the_memory_model_counts()
    {
        manual_seed(23);
        using var model = new LoraT5Decoder(Config);
        var trainable = LoRA.TrainableParameters(model).Sum(p => p.numel());
        // 2 layers × 2 blocks × (q_proj, v_proj) × (A [4, 32] + B [32, 4]).
        Assert.Equal(2 * 2 * 2 * 2 * 4 * Config.Hidden, trainable);
        Assert.Contains("decoder.0.cross.v_proj.lora_B.weight", model.state_dict().Keys);
        var estimate = MemoryModel.Estimate(LoraT5Decoder.DescribeModel(Config), new ScenarioSpec(1, Workload.Training, 6, 2, Optimizer.AdamW), DeviceProfile.Cpu);
        Assert.Equal(trainable, estimate.TrainableParameterCount);
        var source = randint(0, Config.Vocab, new long[] { 2, 6 });
        var target = randint(0, Config.Vocab, new long[] { 2, 6 });
        BackwardFailures.Backward(Loss(model, source, target));
        Assert.All(LoRA.TrainableParameters(model), p => Assert.NotNull(p.grad));
        Assert.Null(model.Decoder.Cast<LoraT5DecoderLayer>().First().Cross.k_proj.weight.grad);
    }
}
