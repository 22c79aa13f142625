using System;
using System.IO;
using System.Linq;
using ModelGen.Adapters;
using ModelGen.Memory;
using ModelGen.Nn;
using ModelGen.Optimizers;
using ModelGen.Quantization;
using ModelGen.Specs;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

/// <summary>Sizes of <see cref="QloraTiny"/>: NF4's 64-element blocks need rows of a multiple of 64.</summary>
public sealed record QloraConfig
{
    public int Hidden { get; init; } = 64;
    public int Ffn { get; init; } = 128;
    public int Vocab { get; init; } = 32;
    public int Layers { get; init; } = 3;
}

/// <summary>A tiny QLoRA model: NF4 MLP projections, full-precision attention, adapters on all seven projections of every block.</summary>
[Model(typeof(QloraConfig))]
public partial class QloraTiny
{
    [Embedding(nameof(QloraConfig.Vocab), nameof(QloraConfig.Hidden))] public partial Embedding Embed { get; }
    [Stack(nameof(QloraConfig.Layers))] public partial ModuleList<QloraBlock> Blocks { get; }
    [Linear(nameof(QloraConfig.Hidden), nameof(QloraConfig.Vocab), Bias = false)] public partial Linear Head { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = Embed.call(tokens);
        foreach (var block in Blocks)
            x = block.call(x);
        return Head.call(x);
    }
}

/// <summary>One decoder block of <see cref="QloraTiny"/>.</summary>
[Layer(typeof(QloraConfig)), LoRA(4, "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", Alpha = 8)]
public partial class QloraBlock
{
    [RmsNorm(nameof(QloraConfig.Hidden))] public partial RmsNorm AttnNorm { get; }
    [Attention(nameof(QloraConfig.Hidden), 4)] public partial Attention Attn { get; }
    [RmsNorm(nameof(QloraConfig.Hidden))] public partial RmsNorm MlpNorm { get; }
    [Linear(nameof(QloraConfig.Hidden), nameof(QloraConfig.Ffn), Bias = false), StateName("gate_proj"), Quantize(QuantKind.NF4)] public partial QuantizedLinear Gate { get; }
    [Linear(nameof(QloraConfig.Hidden), nameof(QloraConfig.Ffn), Bias = false), StateName("up_proj"), Quantize(QuantKind.NF4)] public partial QuantizedLinear Up { get; }
    [Linear(nameof(QloraConfig.Ffn), nameof(QloraConfig.Hidden), Bias = false), StateName("down_proj"), Quantize(QuantKind.NF4)] public partial QuantizedLinear Down { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(AttnNorm.call(x));
        var h = MlpNorm.call(x);
        return x + Down.call(nn.functional.silu(Gate.call(h)) * Up.call(h));
    }
}

/// <summary>The generated [LoRA] model: what trains, what stays, and what the memory model says about it.</summary>
public class LoraGeneratedTests
{
    private static readonly QloraConfig Config = new();

    [Fact]
    public void Only_the_adapters_train_and_the_memory_model_counts_exactly_them()
    {
        using var model = new QloraTiny(Config);
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        // Three blocks × seven projections × (A, B); embeddings, norms, attention and head frozen.
        Assert.Equal(3 * 7 * 2, trainable.Count);
        Assert.All(trainable, name => Assert.Matches(@"\.lora_[AB]\.weight$", name));
        Assert.Contains("blocks.0.attn.q_proj.lora_A.weight", trainable);
        Assert.Contains("blocks.2.down_proj.lora_B.weight", trainable);

        var estimate = MemoryModel.Estimate(QloraTiny.DescribeModel(Config), new ScenarioSpec(1, Workload.Training, 8, 1, Optimizer.Adam8Bit), DeviceProfile.Cpu);
        Assert.Equal(LoRA.TrainableParameters(model).Sum(p => p.numel()), estimate.TrainableParameterCount);
        Assert.Equal(model.parameters().Sum(p => p.numel()) + QuantizedElements(model), estimate.ParameterCount);
    }

    [Fact]
    public void Training_changes_only_the_adapters()
    {
        torch.manual_seed(1);
        using var model = new QloraTiny(Config);
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        using var optimizer = new AdamW8Bit(LoRA.TrainableParameters(model), lr: 1e-2);
        var tokens = torch.randint(0, Config.Vocab, new long[] { 2, 8 });
        var targets = tokens.roll(-1, 1);
        double first = 0, last = 0;
        for (var step = 0; step < 30; step++)
        {
            using var scope = torch.NewDisposeScope();
            var loss = nn.functional.cross_entropy(model.call(tokens).reshape(-1, Config.Vocab), targets.reshape(-1));
            loss.backward();
            optimizer.step();
            optimizer.zero_grad();
            if (step == 0)
                first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.True(last < 0.7 * first, $"loss {first} -> {last}");
        foreach (var (name, tensor) in model.state_dict())
        {
            if (name.Contains(".lora_B."))
                Assert.False(Same(tensor, before[name]), name); // B starts at zero and moves
            else if (!name.Contains(".lora_"))
                Assert.True(Same(tensor, before[name]), name + " changed");
        }
    }

    [Fact]
    public void The_generated_qlora_projection_equals_dequantize_then_lora()
    {
        torch.manual_seed(2);
        using var block = new QloraBlock(Config);
        var adapter = LoRA.Adapters(block).Single(a => a.Path == "gate_proj").Adapter;
        using (torch.no_grad())
            adapter.lora_B.weight!.normal_(0, 0.1);
        block.eval();
        var x = torch.randn(5, Config.Hidden);
        var gate = (QuantizedLinear)block.Gate;
        var expected = x.matmul(gate.Dequantize().to(ScalarType.Float32).t())
            + (adapter.Scaling * x.matmul(adapter.lora_A.weight!.t()).matmul(adapter.lora_B.weight!.t()));
        var actual = gate.call(x);
        Assert.True(actual.allclose(expected, rtol: 1e-5, atol: 1e-5), $"max diff {(actual - expected).abs().max().item<float>()}");
    }

    [Fact]
    public void Saved_adapters_reload_into_a_fresh_base_with_identical_outputs()
    {
        torch.manual_seed(3);
        using var model = new QloraTiny(Config);
        using (torch.no_grad())
            foreach (var (_, a) in LoRA.Adapters(model))
                a.lora_B.weight!.normal_(0, 0.05);
        var directory = Path.Combine(Path.GetTempPath(), "modelgen-lora-" + Guid.NewGuid().ToString("N"));
        try
        {
            LoRA.Save(model, directory);
            using var fresh = new QloraTiny(Config);
            // The same base: load it by its own names (every key but the adapters').
            var baseWeights = model.state_dict().Where(kv => !kv.Key.Contains(".lora_")).ToDictionary(kv => kv.Key, kv => kv.Value);
            fresh.load_state_dict(baseWeights, strict: false);
            LoRA.Load(fresh, directory);
            model.eval();
            fresh.eval();
            var tokens = torch.randint(0, Config.Vocab, new long[] { 2, 8 });
            Assert.True(Same(model.call(tokens), fresh.call(tokens)));
        }
        finally
        {
            if (Directory.Exists(directory))
                Directory.Delete(directory, true);
        }
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static long QuantizedElements(nn.Module model) =>
        model.modules().OfType<QuantizedLinear>().Sum(q => q.in_features * q.out_features);
}
