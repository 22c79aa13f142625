using System.IO;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using ModelGen.Tool.HuggingFace;

namespace ModelGen.Tool.Tests;

public sealed class BertFamilyTests
{
    private static readonly ScenarioSpec Training = new(0, Workload.Training, 512, 4, Optimizer.AdamW);

    // bert-base-uncased's sizes under each head; the counts are transformers' num_parameters() of those classes
    // (BertModel 109,482,240 with its pooler; the classifiers add 768 × labels + labels).
    [Theory]
    [InlineData("BertForMaskedLM", "", 109_514_298L)]
    [InlineData("BertForSequenceClassification", "", 109_483_778L)]
    [InlineData("BertForSequenceClassification", ", \"id2label\": {\"0\": \"a\", \"1\": \"b\", \"2\": \"c\"}", 109_484_547L)]
    [InlineData("BertForSequenceClassification", ", \"num_labels\": 5", 109_486_085L)]
    [InlineData("BertForTokenClassification", ", \"id2label\": {\"0\": \"O\", \"1\": \"B\", \"2\": \"I\"}", 108_893_955L)]
    [InlineData("BertModel", "", 109_482_240L)]
    public void Each_architecture_gets_its_own_head_and_count(string architecture, string extra, long parameters)
    {
        var spec = Read(architecture, extra);

        Assert.Equal(architecture, spec.Root.Name);
        Assert.Equal(parameters, MemoryModel.Estimate(spec, Training).ParameterCount);
        var pooler = spec.Root.Blocks.OfType<PoolerSpec>().SingleOrDefault();
        Assert.Equal(architecture is "BertForSequenceClassification" or "BertModel", pooler is not null);
        if (architecture == "BertModel")
            Assert.Equal("pooler", pooler!.StateName);
        var head = spec.Root.Blocks.OfType<LinearSpec>().LastOrDefault()?.Head;
        Assert.Equal(architecture switch
        {
            "BertForSequenceClassification" => HeadKind.Classifier,
            "BertModel" => (HeadKind?)null,
            _ => HeadKind.LanguageModel,
        }, head);
    }

    [Fact]
    public void The_encoder_has_erf_gelu_a_position_cap_token_types_and_no_kv_cache()
    {
        var spec = Read("BertForSequenceClassification", "");

        Assert.Equal(FeedForwardActivation.GeluErf, spec.Layers.Single().Blocks.OfType<FeedForwardSpec>().Single().Activation);
        var tables = spec.Root.Blocks.OfType<EmbeddingSpec>().ToDictionary(e => e.Name, e => e.Role);
        Assert.Equal(EmbeddingRole.Positions, tables["PositionEmbeddings"]);
        Assert.Equal(EmbeddingRole.TokenTypes, tables["TokenTypeEmbeddings"]);
        var refused = Assert.Throws<System.ArgumentException>(() => MemoryModel.Estimate(spec, Training with { SequenceLength = 513 }));
        Assert.Contains("PositionEmbeddings", refused.Message);
        var inference = MemoryModel.Estimate(spec, Training with { Workload = Workload.Inference });
        Assert.Equal(0, inference.Term(MemoryTerms.KvCache));
        Assert.Equal(FeedForwardActivation.Gelu, Read("BertModel", ", \"hidden_act\": \"gelu_new\"").Layers.Single().Blocks.OfType<FeedForwardSpec>().Single().Activation);
    }

    [Theory]
    [InlineData("BertForPreTraining", "", "architecture \"BertForPreTraining\" is not one the bert family builds")]
    [InlineData("BertModel", ", \"hidden_act\": \"mish\"", "hidden_act \"mish\" is not an activation ModelGen has")]
    [InlineData("BertForSequenceClassification", ", \"num_labels\": 0", "\"num_labels\" is 0; a size must be positive")]
    public void What_the_family_cannot_build_is_refused_by_name(string architecture, string extra, string expected)
    {
        var error = Assert.Throws<ToolException>(() => Read(architecture, extra));
        Assert.Contains(expected, error.Message);
    }

    private static ModelSpec Read(string architecture, string extra)
    {
        var text = File.ReadAllText(ToolRun.Fixture("bert-base-uncased.config.json")).Replace("BertForMaskedLM", architecture);
        text = text.Substring(0, text.LastIndexOf('}')) + extra + "}";
        var path = Path.Combine(Path.GetTempPath(), $"modelgen-bert-{System.Guid.NewGuid():N}.json");
        File.WriteAllText(path, text);
        try
        {
            return HuggingFaceConfig.Read(path).Spec;
        }
        finally
        {
            File.Delete(path);
        }
    }
}
