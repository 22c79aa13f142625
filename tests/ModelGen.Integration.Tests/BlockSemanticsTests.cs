using System.Linq;
using ModelGen;
using ModelGen.Memory;
using ModelGen.Nn;
using ModelGen.Specs;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

/// <summary>Sizes for the block-semantics models.</summary>
public sealed record SemanticsConfig
{
    public int Vocab { get; init; } = 40;
    public int Hidden { get; init; } = 32;
    public int Heads { get; init; } = 4;
    public int Ffn { get; init; } = 64;
    public int Layers { get; init; } = 2;
    public int Positions { get; init; } = 16;
    public int Classes { get; init; } = 3;
}

/// <summary>A post-LN BERT encoder layer: bidirectional eager attention, exact-erf GELU.</summary>
[Layer(typeof(SemanticsConfig))]
public partial class PostNormEncoderBlock
{
    [Attention(nameof(SemanticsConfig.Hidden), nameof(SemanticsConfig.Heads), Causal = false, Fused = false, Bias = true)] public partial Attention Attn { get; }
    [LayerNorm(nameof(SemanticsConfig.Hidden), Eps = 1e-12)] public partial LayerNorm AttnNorm { get; }
    [FeedForward(nameof(SemanticsConfig.Hidden), nameof(SemanticsConfig.Ffn), Activation = FeedForwardActivation.GeluErf)] public partial FeedForward Mlp { get; }
    [LayerNorm(nameof(SemanticsConfig.Hidden), Eps = 1e-12)] public partial LayerNorm MlpNorm { get; }

    private Tensor Forward(Tensor x)
    {
        x = AttnNorm.call(x + Attn.call(x));
        return MlpNorm.call(x + Mlp.call(x));
    }
}

/// <summary>BERT for sequence classification: word, position and token-type tables, encoder, pooler, dropout, classifier head.</summary>
[Model(typeof(SemanticsConfig))]
public partial class BertClassifier
{
    [Embedding(nameof(SemanticsConfig.Vocab), nameof(SemanticsConfig.Hidden))] public partial Embedding Words { get; }
    [Embedding(nameof(SemanticsConfig.Positions), nameof(SemanticsConfig.Hidden), Role = EmbeddingRole.Positions)] public partial Embedding Positions { get; }
    [Embedding(2, nameof(SemanticsConfig.Hidden), Role = EmbeddingRole.TokenTypes)] public partial Embedding TokenTypes { get; }
    [LayerNorm(nameof(SemanticsConfig.Hidden), Eps = 1e-12)] public partial LayerNorm EmbedNorm { get; }
    [Stack(nameof(SemanticsConfig.Layers))] public partial ModuleList<PostNormEncoderBlock> Layers { get; }
    [Pooler(nameof(SemanticsConfig.Hidden))] public partial Pooler Pool { get; }
    [Dropout(0.1)] public partial Dropout Drop { get; }
    [Linear(nameof(SemanticsConfig.Hidden), nameof(SemanticsConfig.Classes)), Head(HeadKind.Classifier)] public partial Linear Classifier { get; }

    private Tensor Forward(Tensor tokens)
    {
        var positions = arange(tokens.shape[1], device: tokens.device).unsqueeze(0);
        var x = EmbedNorm.call(Words.call(tokens) + Positions.call(positions) + TokenTypes.call(zeros_like(tokens)));
        foreach (var layer in Layers)
            x = layer.call(x);
        return Classifier.call(Drop.call(Pool.call(x)));
    }
}

/// <summary>A pre-LN decoder layer with sliding-window causal attention (8 of the 16 positions) and a GeGLU or ReLU feed-forward.</summary>
[Layer(typeof(SemanticsConfig))]
public partial class GatedDecoderBlock
{
    [LayerNorm(nameof(SemanticsConfig.Hidden))] public partial LayerNorm AttnNorm { get; }
    [Attention(nameof(SemanticsConfig.Hidden), nameof(SemanticsConfig.Heads), Dropout = 0.1, SlidingWindow = 8)] public partial Attention Attn { get; }
    [LayerNorm(nameof(SemanticsConfig.Hidden))] public partial LayerNorm MlpNorm { get; }
    [FeedForward(nameof(SemanticsConfig.Hidden), nameof(SemanticsConfig.Ffn), Activation = FeedForwardActivation.GeGlu, Bias = false)] public partial FeedForward Gated { get; }
    [FeedForward(nameof(SemanticsConfig.Hidden), nameof(SemanticsConfig.Ffn), Activation = FeedForwardActivation.Relu)] public partial FeedForward Plain { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(AttnNorm.call(x));
        var h = MlpNorm.call(x);
        return x + Gated.call(h) + Plain.call(h);
    }
}

/// <summary>A GPT-2-style decoder with a learned position table and an explicit LM head.</summary>
[Model(typeof(SemanticsConfig))]
public partial class LearnedPositionsGpt
{
    [Embedding(nameof(SemanticsConfig.Vocab), nameof(SemanticsConfig.Hidden))] public partial Embedding Wte { get; }
    [Embedding(nameof(SemanticsConfig.Positions), nameof(SemanticsConfig.Hidden), Role = EmbeddingRole.Positions)] public partial Embedding Wpe { get; }
    [Stack(nameof(SemanticsConfig.Layers))] public partial ModuleList<GatedDecoderBlock> Blocks { get; }
    [LayerNorm(nameof(SemanticsConfig.Hidden))] public partial LayerNorm Norm { get; }
    [Linear(nameof(SemanticsConfig.Hidden), nameof(SemanticsConfig.Vocab), Bias = false), Head(HeadKind.LanguageModel)] public partial Linear LmHead { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = Wte.call(tokens) + Wpe.call(arange(tokens.shape[1], device: tokens.device).unsqueeze(0));
        foreach (var block in Blocks)
            x = block.call(x);
        return LmHead.call(Norm.call(x));
    }
}

[Collection(GlobalRandomStream.Name)]
public class BlockSemanticsTests
{
    private static readonly SemanticsConfig Config = new();

    /// <summary>Runs <paramref name="steps"/> AdamW steps on one batch; returns the first and last loss.</summary>
    private static (float First, float Last) Train(nn.Module<Tensor, Tensor> model, Tensor tokens, System.Func<Tensor, Tensor> loss, int steps = 25)
    {
        model.train();
        using var optimizer = new ModelGen.Optimizers.AdamW(model.parameters(), learningRate: 1e-2);
        float first = 0, last = 0;
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var value = loss(model.call(tokens));
            BackwardFailures.Backward(value);
            optimizer.Step();
            last = value.item<float>();
            if (step == 0)
                first = last;
        }
        return (first, last);
    }

    [Fact]
    public void The_BERT_classifier_trains_and_matches_its_description()
    {
        manual_seed(11);
        using var model = new BertClassifier(Config);
        var tokens = randint(0, Config.Vocab, new long[] { 6, Config.Positions });
        var labels = tensor(new long[] { 0, 1, 2, 0, 1, 2 });
        using (no_grad())
            Assert.Equal(new long[] { 6, Config.Classes }, model.call(tokens).shape);
        var (first, last) = Train(model, tokens, logits => Precision.CrossEntropyFp32(logits, labels));
        Assert.True(last < first * 0.5, $"loss did not fall: {first} -> {last}");

        Assert.Equal(new[] { "pool.dense.bias", "pool.dense.weight" }, model.state_dict().Keys.Where(k => k.StartsWith("pool.", System.StringComparison.Ordinal)).OrderBy(k => k, System.StringComparer.Ordinal));
        var spec = BertClassifier.DescribeModel(Config);
        var estimate = MemoryModel.Estimate(spec, new ScenarioSpec(1, Workload.Training, Config.Positions, 6, Optimizer.AdamW), DeviceProfile.Cpu);
        Assert.Equal(model.parameters().Sum(p => p.numel()), estimate.ParameterCount);
        // The position table caps the sequence: one more token is refused by the memory model (and MG0540 at compile time).
        Assert.Throws<System.ArgumentException>(() => MemoryModel.Estimate(spec, new ScenarioSpec(1, Workload.Training, Config.Positions + 1, 6, Optimizer.AdamW)));
        // An encoder: one inference pass, no KV cache.
        var inference = MemoryModel.Estimate(spec, new ScenarioSpec(1, Workload.Inference, Config.Positions, 6, Optimizer.AdamW), DeviceProfile.Cpu);
        Assert.Equal(0, inference.Term(MemoryTerms.KvCache));
        Assert.Single(inference.Phases);
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.BFloat16)]
    public void The_learned_position_decoder_with_GeGLU_and_ReLU_trains(DType precision)
    {
        manual_seed(12);
        using var model = new LearnedPositionsGpt(Config, precision);
        var tokens = randint(0, Config.Vocab, new long[] { 4, Config.Positions });
        var (first, last) = Train(model, tokens, logits => Precision.CrossEntropyFp32(logits.reshape(-1, Config.Vocab), tokens.reshape(-1)));
        Assert.True(last < first * 0.7, $"loss did not fall in {precision}: {first} -> {last}");
        Assert.Contains("blocks.0.gated.gate_proj.weight", model.state_dict().Keys);
        Assert.DoesNotContain("blocks.0.plain.gate_proj.weight", model.state_dict().Keys);
        Assert.Equal(8, model.Blocks.Cast<GatedDecoderBlock>().First().Attn.SlidingWindow);
        var estimate = MemoryModel.Estimate(LearnedPositionsGpt.DescribeModel(Config), new ScenarioSpec(1, Workload.Training, Config.Positions, 4, Optimizer.AdamW), DeviceProfile.Cpu);
        Assert.Equal(model.parameters().Sum(p => p.numel()), estimate.ParameterCount);
    }
}
