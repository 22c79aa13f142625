using System.Linq;
using ModelGen.Adapters;
using ModelGen.Memory;
using ModelGen.Nn;
using ModelGen.Quantization;
using ModelGen.Specs;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

/// <summary>
/// Issue 13: [Quantize] on Attention and FeedForward blocks, and [LoRA] on single properties. No class carries [LoRA]: each adapted
/// block is its own scope, and the model freezes the rest.
/// </summary>
[Model(typeof(QloraConfig))]
public partial class PropertyLoraNet
{
    [Embedding(nameof(QloraConfig.Vocab), nameof(QloraConfig.Hidden))] public partial Embedding Embed { get; }
    [Stack(2)] public partial ModuleList<PropertyLoraBlock> Blocks { get; }
    [Linear(nameof(QloraConfig.Hidden), nameof(QloraConfig.Vocab), Bias = false), LoRA(2)] public partial Linear Head { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = Embed.call(tokens);
        foreach (var block in Blocks)
            x = block.call(x);
        return Head.call(x);
    }
}

/// <summary>A decoder block of <see cref="PropertyLoraNet"/>: NF4 attention with adapters on q and v, an int8 SwiGLU MLP with adapters on every projection.</summary>
[Layer(typeof(QloraConfig))]
public partial class PropertyLoraBlock
{
    [RmsNorm(nameof(QloraConfig.Hidden))] public partial RmsNorm AttnNorm { get; }
    [Attention(nameof(QloraConfig.Hidden), 4, KvHeads = "2"), Quantize(QuantKind.NF4), LoRA(4, "q_proj", "v_proj", Alpha = 8)] public partial Attention Attn { get; }
    [RmsNorm(nameof(QloraConfig.Hidden))] public partial RmsNorm MlpNorm { get; }
    [FeedForward(nameof(QloraConfig.Hidden), nameof(QloraConfig.Ffn), Activation = FeedForwardActivation.SwiGlu, Bias = false), Quantize(QuantKind.Int8), LoRA(4)] public partial FeedForward Mlp { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(AttnNorm.call(x));
        return x + Mlp.call(MlpNorm.call(x));
    }
}

/// <summary>What the generated code of quantized blocks and property-level [LoRA] builds, trains, and what the memory model says about it.</summary>
public class QuantizedBlockLoraTests
{
    private static readonly QloraConfig Config = new();

    [Fact]
    public void The_blocks_projections_are_quantized_and_adapted_where_their_properties_say()
    {
        using var scope = NewDisposeScope();
        using var model = new PropertyLoraNet(Config);
        var attention = model.modules().OfType<Attention>().First();
        Assert.IsType<QuantizedLinear>(attention.Projection("k_proj"));
        Assert.Equal(QuantKind.NF4, attention.Quantization!.Kind);
        Assert.Equal(QuantKind.Int8, model.modules().OfType<FeedForward>().First().Quantization!.Kind);

        var adapted = LoRA.Adapters(model).Select(a => a.Path).ToList();
        Assert.Equal(new[]
        {
            "blocks.0.attn.q_proj", "blocks.0.attn.v_proj", "blocks.0.mlp.gate_proj", "blocks.0.mlp.up_proj", "blocks.0.mlp.down_proj",
            "blocks.1.attn.q_proj", "blocks.1.attn.v_proj", "blocks.1.mlp.gate_proj", "blocks.1.mlp.up_proj", "blocks.1.mlp.down_proj",
            "head",
        }.OrderBy(p => p, System.StringComparer.Ordinal), adapted.OrderBy(p => p, System.StringComparer.Ordinal));
        Assert.Equal(4, LoRA.Adapters(model).Single(a => a.Path == "blocks.1.attn.v_proj").Adapter.Rank);
        Assert.Equal(2, LoRA.Adapters(model).Single(a => a.Path == "head").Adapter.Rank);

        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.Equal(2 * adapted.Count, trainable.Count); // embeddings, norms and the head's base frozen too
        Assert.All(trainable, name => Assert.Matches(@"\.lora_[AB]\.weight$", name));

        var estimate = MemoryModel.Estimate(PropertyLoraNet.DescribeModel(Config), new ScenarioSpec(1, Workload.Training, 8, 1, Optimizer.AdamW), DeviceProfile.Cpu);
        Assert.Equal(LoRA.TrainableParameters(model).Sum(p => p.numel()), estimate.TrainableParameterCount);
        var quantizedElements = model.modules().OfType<QuantizedLinear>().Sum(q => q.in_features * q.out_features);
        Assert.Equal(model.parameters().Sum(p => p.numel()) + quantizedElements, estimate.ParameterCount);
    }

    [Fact]
    public void Gradients_reach_only_the_adapters()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var model = new PropertyLoraNet(Config);
        using (no_grad())
        {
            foreach (var (_, adapter) in LoRA.Adapters(model))
                adapter.lora_B.weight!.copy_(randn_like(adapter.lora_B.weight!) * 0.1);
        }
        var tokens = randint(0, Config.Vocab, new long[] { 2, 6 });
        nn.functional.cross_entropy(model.call(tokens).view(-1, Config.Vocab), tokens.view(-1)).backward();
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (parameter.requires_grad)
                Assert.True(parameter.grad is { } g && g.abs().max().item<float>() > 0, name + " has no gradient");
            else
                Assert.Null(parameter.grad);
        }
        Assert.All(model.named_buffers(), b => Assert.False(b.buffer.requires_grad));
    }
}
