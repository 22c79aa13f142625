using System.Linq;
using ModelGen;
using ModelGen.Memory;
using ModelGen.Nn;
using ModelGen.Specs;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

/// <summary>Sizes of the mixture-of-experts decoder.</summary>
public sealed record MoeConfig
{
    public int Vocab { get; init; } = 40;
    public int Hidden { get; init; } = 32;
    public int Heads { get; init; } = 4;
    public int Ffn { get; init; } = 48;
    public int Experts { get; init; } = 4;
    public int TopK { get; init; } = 2;
    public int Layers { get; init; } = 2;
}

/// <summary>A Mixtral decoder layer: RMSNorm, rotary attention, RMSNorm, top-2 of 4 SwiGLU experts under Mixtral's state name.</summary>
[Layer(typeof(MoeConfig))]
public partial class MixtralLayer
{
    [RmsNorm(nameof(MoeConfig.Hidden)), StateName("input_layernorm")] public partial RmsNorm AttnNorm { get; }
    [Attention(nameof(MoeConfig.Hidden), nameof(MoeConfig.Heads), Rotary = true), StateName("self_attn")] public partial Attention Attn { get; }
    [RmsNorm(nameof(MoeConfig.Hidden)), StateName("post_attention_layernorm")] public partial RmsNorm MoeNorm { get; }
    [MixtureOfExperts(nameof(MoeConfig.Hidden), nameof(MoeConfig.Ffn), nameof(MoeConfig.Experts), TopK = nameof(MoeConfig.TopK)), StateName("block_sparse_moe")]
    public partial MixtureOfExperts Moe { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(AttnNorm.call(x));
        return x + Moe.call(MoeNorm.call(x));
    }
}

/// <summary>A small Mixtral: token table, two MoE layers, final norm, untied LM head.</summary>
[Model(typeof(MoeConfig))]
public partial class SmallMixtral
{
    [Embedding(nameof(MoeConfig.Vocab), nameof(MoeConfig.Hidden)), StateName("embed_tokens")] public partial Embedding Embed { get; }
    [Stack(nameof(MoeConfig.Layers)), StateName("layers")] public partial ModuleList<MixtralLayer> Blocks { get; }
    [RmsNorm(nameof(MoeConfig.Hidden))] public partial RmsNorm Norm { get; }
    [Linear(nameof(MoeConfig.Hidden), nameof(MoeConfig.Vocab), Bias = false), Head(HeadKind.LanguageModel)] public partial Linear LmHead { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = Embed.call(tokens);
        foreach (var block in Blocks)
            x = block.call(x);
        return LmHead.call(Norm.call(x));
    }
}

/// <summary>The generated mixture-of-experts model trains, with Mixtral's names, and its description counts what it holds.</summary>
[Collection(GlobalRandomStream.Name)]
public class MixtureOfExpertsTests
{
    private static readonly MoeConfig Config = new();

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.BFloat16)]
    public void The_generated_mixtral_trains_with_the_load_balancing_loss(DType precision)
    {
        manual_seed(21);
        using var model = new SmallMixtral(Config, precision);
        model.train();
        var tokens = randint(0, Config.Vocab, new long[] { 4, 12 });
        using var optimizer = new ModelGen.Optimizers.AdamW(model.parameters(), learningRate: 1e-2);
        float first = 0, last = 0;
        for (var step = 0; step < 25; step++)
        {
            using var scope = NewDisposeScope();
            var logits = model.call(tokens);
            var loss = Precision.CrossEntropyFp32(logits.reshape(-1, Config.Vocab), tokens.reshape(-1));
            // Mixtral's router_aux_loss_coef: the load-balancing loss of each layer's router.
            var balance = model.Blocks.Cast<MixtralLayer>().Select(b => b.Moe.LoadBalancingLoss!).Aggregate((a, b) => a + b);
            BackwardFailures.Backward(loss + (0.02 * balance));
            optimizer.Step();
            last = loss.item<float>();
            if (step == 0)
                first = last;
        }
        Assert.True(last < first * 0.7, $"loss did not fall in {precision}: {first} -> {last}");

        var keys = model.state_dict().Keys.ToHashSet();
        Assert.Contains("layers.0.block_sparse_moe.gate.weight", keys);
        Assert.Contains("layers.1.block_sparse_moe.experts.3.w3.weight", keys);
        Assert.Contains("layers.0.block_sparse_moe.experts.0.w2.weight", keys);
        var estimate = MemoryModel.Estimate(SmallMixtral.DescribeModel(Config), new ScenarioSpec(1, Workload.Training, 12, 4, Optimizer.AdamW), DeviceProfile.Cpu);
        Assert.Equal(model.parameters().Sum(p => p.numel()), estimate.ParameterCount);
    }
}
