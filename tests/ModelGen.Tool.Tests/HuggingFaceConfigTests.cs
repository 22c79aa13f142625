using System.IO;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using ModelGen.Tool.HuggingFace;
using ModelGen.Tool.Loading;

namespace ModelGen.Tool.Tests;

public sealed class HuggingFaceConfigTests
{
    private static readonly ScenarioSpec Training = new(0, Workload.Training, 1024, 4, Optimizer.AdamW);

    // Published parameter counts of the released checkpoints (transformers' num_parameters()).
    [Theory]
    [InlineData("llama-3-8b.config.json", "LlamaForCausalLM", 8_030_261_248L)]
    [InlineData("mistral-7b.config.json", "MistralForCausalLM", 7_241_732_096L)]
    [InlineData("gpt2.config.json", "GPT2LMHeadModel", 124_439_808L)]
    [InlineData("bert-base-uncased.config.json", "BertForMaskedLM", 109_514_298L)]
    public void Each_family_has_the_released_models_parameter_count(string fixture, string architecture, long parameters)
    {
        var model = HuggingFaceConfig.Read(ToolRun.Fixture(fixture));

        Assert.Equal(architecture, model.Spec.Root.Name);
        // 512 tokens: BERT's learned position table caps its sequence there (the memory model refuses more).
        Assert.Equal(parameters, MemoryModel.Estimate(model.Spec, Training with { SequenceLength = 512 }).ParameterCount);
    }

    [Fact]
    public void Gpt2_config_gives_exactly_the_numbers_of_the_Gpt2_samples_generated_description()
    {
        var config = HuggingFaceConfig.Read(ToolRun.Fixture("gpt2.config.json")).Spec;
        var sample = AssemblyModels.Load(ToolRun.Sample("Gpt2")).Single().Spec;
        // A config has blocks, not code: compare on the declared blocks. The sample's analyzed Forward bodies (its residual dropout
        // runs twice, its TokenPositions helper) are what the analysis adds on top (docs/forward-analysis.md).
        Assert.NotNull(sample.Layers.Single().Body);
        sample = new ModelSpec(sample.Root with { Body = null }, sample.Layers.Select(l => l with { Body = null }).ToEquatableArray());

        foreach (var scenario in sample.Root.Budgets.Concat(new[] { Training, Training with { Workload = Workload.Inference, SequenceLength = 1024 } }))
            AssertSameEstimate(MemoryModel.Estimate(sample, scenario), MemoryModel.Estimate(config, scenario));
    }

    [Fact]
    public void Llama_config_with_full_checkpointing_gives_exactly_the_numbers_of_the_Llama_sample()
    {
        // The sample is Llama-3-8B in bf16 with [Checkpoint] on its decoder layer; config.json says bf16, the checkpointing is --checkpoint full.
        var config = Planning.ModelOverrides.Apply(HuggingFaceConfig.Read(ToolRun.Fixture("llama-3-8b.config.json")).Spec,
            new Planning.PlanOptions { Checkpoint = CheckpointMode.Full });
        var sample = AssemblyModels.Load(ToolRun.Sample("Llama")).Single().Spec;

        Assert.Equal(2, sample.Root.Budgets.Count);
        foreach (var scenario in sample.Root.Budgets)
            AssertSameEstimate(MemoryModel.Estimate(sample, scenario), MemoryModel.Estimate(config, scenario));
    }

    [Theory]
    [InlineData("{\"model_type\": \"t5\", \"d_model\": 512}", "model_type \"t5\" is not one ModelGen reads")]
    [InlineData("{\"hidden_size\": 512}", "has no \"model_type\"")]
    [InlineData("{\"model_type\": \"llama\", \"hidden_size\": 512}", "has no \"vocab_size\"")]
    [InlineData("{\"model_type\": \"gpt2\", \"vocab_size\": -3}", "\"vocab_size\" is -3; a size must be positive")]
    [InlineData("{\"model_type\": \"bert\", \"vocab_size\": \"big\"}", "\"vocab_size\" should be a whole number")]
    [InlineData("{\"model_type\": \"llama\", \"torch_dtype\": \"int8\", \"vocab_size\": 64, \"hidden_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"intermediate_size\": 128}", "torch_dtype \"int8\" is not a precision")]
    [InlineData("{\"model_type\": \"llama\", \"head_dim\": 128, \"vocab_size\": 64, \"hidden_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"intermediate_size\": 128}", "head_dim 128 × 4 heads differs from hidden_size 64")]
    [InlineData("[1, 2]", "its top level is not an object")]
    [InlineData("{ not json", "is not valid JSON")]
    public void Bad_configs_get_a_message_that_says_what_is_wrong(string json, string expected)
    {
        var path = Path.Combine(Path.GetTempPath(), $"modelgen-config-{System.Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        try
        {
            var error = Assert.Throws<ToolException>(() => HuggingFaceConfig.Read(path));
            Assert.Contains(expected, error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void AssertSameEstimate(MemoryEstimate expected, MemoryEstimate actual)
    {
        Assert.Equal(expected.PeakBytes, actual.PeakBytes);
        Assert.Equal(expected.PeakPhase, actual.PeakPhase);
        Assert.Equal(expected.ParameterCount, actual.ParameterCount);
        Assert.Equal(expected.HostBytes, actual.HostBytes);
        Assert.Equal(expected.Phases.Select(p => (p.Phase, p.PeakBytes, string.Join(",", p.Terms))), actual.Phases.Select(p => (p.Phase, p.PeakBytes, string.Join(",", p.Terms))));
    }
}
