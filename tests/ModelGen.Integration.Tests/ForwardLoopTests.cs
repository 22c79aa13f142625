using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

/// <summary>A layer whose Forward repeats a Linear and a GELU in a loop bounded by a config member (docs/forward-analysis.md, Loops).</summary>
[Model(typeof(TestConfig))]
public partial class LoopedModel
{
    private readonly TestConfig _cfg = new();

    [Embedding(nameof(TestConfig.Vocab), nameof(TestConfig.Hidden))] public partial Embedding Embed { get; }
    [Linear(nameof(TestConfig.Hidden), nameof(TestConfig.Hidden))] public partial Linear Mix { get; }
    [Linear(nameof(TestConfig.Hidden), nameof(TestConfig.Vocab), Bias = false), Head(HeadKind.LanguageModel)] public partial Linear Head { get; }

    private Tensor Forward(Tensor ids)
    {
        var x = Embed.call(ids);
        for (var i = 0; i < _cfg.Layers; i++)
            x = x + nn.functional.gelu(Mix.call(x));
        return Head.call(x);
    }
}

/// <summary>
/// The generated <c>DescribeModel(config)</c> of a looped Forward carries the loop's count with the config instance's value, the
/// memory model counts the loop's saved tensors that many times, and the model trains.
/// </summary>
[Collection(GlobalRandomStream.Name)]
public class ForwardLoopTests
{
    [Fact]
    public void A_config_bound_loop_is_counted_with_the_config_instances_value()
    {
        var spec = LoopedModel.DescribeModel(new TestConfig { Layers = 7 });
        var body = spec.Root.Body!;
        Assert.Equal(new Dim("Layers", 7), Assert.Single(body.Calls.Single(c => c.Block == "Mix").Repeats));
        Assert.Equal(7, body.Calls.Select(c => c.Op).Single(o => o?.Call == "functional.gelu")!.Times);

        var scenario = new ScenarioSpec(80, Workload.Training, 16, 2, Optimizer.AdamW);
        long Saved(TestConfig config, string block) => MemoryModel.Estimate(LoopedModel.DescribeModel(config), scenario, DeviceProfile.Cpu)
            .Layers.Single().SavedTensors.Where(t => t.Block == block).Sum(t => t.Bytes);
        var tokens = 2 * 16;
        // Mix keeps its fp32 input and gelu its fp32 input once per repeat: 3 repeats by default, 7 with Layers = 7.
        Assert.Equal(3L * tokens * 16 * 4, Saved(new TestConfig(), "Mix"));
        Assert.Equal(7L * tokens * 16 * 4, Saved(new TestConfig { Layers = 7 }, "Mix"));
        Assert.Equal(7L * tokens * 16 * 4, Saved(new TestConfig { Layers = 7 }, "functional.gelu"));
    }

    [Fact]
    public void The_looped_model_trains()
    {
        var config = new TestConfig();
        torch.manual_seed(2);
        using var model = new LoopedModel(config);
        var ids = torch.randint(0, config.Vocab, new long[] { 2, 10 });
        var optimizer = torch.optim.AdamW(model.parameters(), lr: 1e-2);
        double first = 0, last = 0;
        for (var step = 0; step < 15; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var loss = Precision.CrossEntropyFp32(model.call(ids), ids.roll(-1, 1));
            loss.backward();
            optimizer.step();
            last = loss.item<float>();
            if (step == 0)
                first = last;
        }
        Assert.True(last < 0.7 * first, $"loss should fall: {first} -> {last}");
    }
}
