using System;
using System.IO;
using System.Linq;
using ModelGen;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

/// <summary>Hugging Face BERT's attention names: dotted [StateName]s that share containers, beside a plain one.</summary>
[Layer(typeof(TestConfig))]
public partial class BertStyleAttention
{
    [Linear(nameof(TestConfig.Hidden), nameof(TestConfig.Hidden)), StateName("attention.self.query")] public partial Linear Query { get; }
    [Linear(nameof(TestConfig.Hidden), nameof(TestConfig.Hidden)), StateName("attention.self.key")] public partial Linear Key { get; }
    [Linear(nameof(TestConfig.Hidden), nameof(TestConfig.Hidden)), StateName("attention.output.dense")] public partial Linear Dense { get; }
    [LayerNorm(nameof(TestConfig.Hidden)), StateName("attention.output.LayerNorm")] public partial LayerNorm Norm { get; }
    [Linear(nameof(TestConfig.Hidden), nameof(TestConfig.Hidden))] public partial Linear Plain { get; }

    private Tensor Forward(Tensor x) => Plain.call(Norm.call(x + Dense.call(Query.call(x) * Key.call(x))));
}

/// <summary>A stack and an embedding under dotted names, as Hugging Face Llama's <c>model.layers</c> and <c>model.embed_tokens</c>.</summary>
[Model(typeof(TestConfig))]
public partial class DottedModel
{
    [Embedding(nameof(TestConfig.Vocab), nameof(TestConfig.Hidden)), StateName("model.embed_tokens")] public partial Embedding Embed { get; }
    [Stack(nameof(TestConfig.Layers)), StateName("model.layers")] public partial ModuleList<BertStyleAttention> Blocks { get; }
    [Linear(nameof(TestConfig.Hidden), nameof(TestConfig.Vocab), Bias = false)] public partial Linear LmHead { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = Embed.call(tokens);
        foreach (var block in Blocks)
            x = block.call(x);
        return LmHead.call(x);
    }
}

[Collection(GlobalRandomStream.Name)]
public class DottedStateNameTests
{
    private static readonly TestConfig Config = new();

    [Fact]
    public void Dotted_state_names_become_nested_state_dict_keys()
    {
        using var layer = new BertStyleAttention(Config);
        var keys = layer.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
        Assert.Equal(new[]
        {
            "attention.output.LayerNorm.bias", "attention.output.LayerNorm.weight", "attention.output.dense.bias", "attention.output.dense.weight",
            "attention.self.key.bias", "attention.self.key.weight", "attention.self.query.bias", "attention.self.query.weight",
            "plain.bias", "plain.weight",
        }, keys);
        Assert.Equal(10, layer.parameters().Count());
        // The property is the registered module: a parameter reached by key is the one the forward uses.
        Assert.Same(layer.Query.weight, layer.state_dict()["attention.self.query.weight"]);
    }

    [Fact]
    public void Save_and_load_round_trip_under_dotted_names()
    {
        torch.manual_seed(3);
        using var source = new DottedModel(Config);
        using var target = new DottedModel(Config);
        Assert.Contains("model.layers.2.attention.self.query.weight", source.state_dict().Keys);
        Assert.Contains("model.embed_tokens.weight", source.state_dict().Keys);
        var tokens = torch.randint(0, Config.Vocab, new long[] { 2, 5 }, ScalarType.Int64);
        using var _ = torch.no_grad();
        var expected = source.call(tokens);
        Assert.False(expected.allclose(target.call(tokens)), "two random initializations agree: the test could not fail");

        var path = Path.Combine(Path.GetTempPath(), $"dotted-{Guid.NewGuid():N}.dat");
        try
        {
            source.save(path);
            target.load(path);
            Assert.True(expected.Equals(target.call(tokens)), "the loaded model computes something else");
            Assert.True(source.state_dict().Keys.SequenceEqual(target.state_dict().Keys));
        }
        finally
        {
            File.Delete(path);
        }

        // load_state_dict by the same dotted keys (what the Hugging Face weight loader feeds).
        using var third = new DottedModel(Config);
        var (missing, unexpected) = third.load_state_dict(source.state_dict());
        Assert.Empty(missing);
        Assert.Empty(unexpected);
        Assert.True(expected.Equals(third.call(tokens)));
    }

    [Fact]
    public void A_taken_level_is_named()
    {
        using var owner = new BertStyleAttention(Config);
        var e = Assert.Throws<InvalidOperationException>(() => ModelGen.Nn.StatePath.Attach(owner, null, "plain.inner", nn.Linear(2, 2)));
        Assert.Contains("'plain'", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ModelGen.Nn.StatePath.Attach(owner, null, "a..b", nn.Linear(2, 2)));
    }
}
