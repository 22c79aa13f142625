using System;
using System.Diagnostics;
using System.IO;
using Gpt2Sample;
using LlamaSample;
using ModelGen.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

/// <summary>
/// Cross-implementation: tests/python/reference_models.py builds a tiny GPT-2 and a tiny Llama with Hugging Face parameter
/// names and a reference forward written in plain PyTorch ops, and writes their weights as safetensors (by hand) and as
/// torch.save files. The samples' generated models load both files and reproduce the reference logits within 1e-4.
/// </summary>
[Collection(GlobalRandomStream.Name)]
public class PretrainedWeightsTests
{
    private static readonly Lazy<string> Reference = new(RunReferenceScript);

    /// <summary>Hugging Face Llama / Mistral names into samples/Llama's names (its properties in snake case).</summary>
    public static WeightMapping LlamaSampleMapping { get; } = WeightMapping.Identity
        .Rename(@"^model\.embed_tokens\.", "embed.")
        .Rename(@"^model\.layers\.", "blocks.")
        .Rename(@"\.input_layernorm\.", ".attn_norm.")
        .Rename(@"\.post_attention_layernorm\.", ".mlp_norm.")
        .Rename(@"\.self_attn\.", ".attn.")
        .Rename(@"^model\.norm\.", "norm.")
        .Rename(@"^lm_head\.", "head.");

    [Theory]
    [InlineData("gpt2.safetensors")]
    [InlineData("gpt2.pt")]
    public void Gpt2_sample_reproduces_the_pytorch_reference_logits(string file)
    {
        using var model = new Gpt2(Gpt2Config.Tiny);
        model.eval();
        var report = WeightLoader.Load(model, Path.Combine(Reference.Value, file), new WeightLoadOptions { Mapping = WeightMapping.Gpt2 });
        Assert.Empty(report.Missing);
        AssertLogits(model, "gpt2-reference.safetensors", 1e-4);
    }

    [Theory]
    [InlineData("llama.safetensors")]
    [InlineData("llama.pt")]
    public void A_llama_with_hugging_face_names_reproduces_the_pytorch_reference_logits(string file)
    {
        using var model = new HuggingFaceLlama(LlamaConfig.Tiny);
        model.eval();
        var report = WeightLoader.Load(model, Path.Combine(Reference.Value, file));
        Assert.Empty(report.Missing);
        AssertLogits(model, "llama-reference.safetensors", 1e-4);
    }

    [Fact]
    public void Llama_sample_loads_hugging_face_names_through_a_mapping_and_computes_in_its_bf16()
    {
        // The sample declares [Precision(BFloat16)] on the model, so it stores and computes in bf16 whatever the caller asks:
        // its logits match the fp32 reference to bf16 rounding (8 mantissa bits through 2 layers), not to 1e-4.
        using var model = new Llama(LlamaConfig.Tiny);
        model.eval();
        var report = WeightLoader.Load(model, Path.Combine(Reference.Value, "llama.safetensors"), new WeightLoadOptions { Mapping = LlamaSampleMapping });
        Assert.Empty(report.Missing);
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        AssertLogits(model, "llama-reference.safetensors", 0.25);
    }

    private static void AssertLogits(nn.Module<Tensor, Tensor> model, string referenceFile, double tolerance)
    {
        using var reference = SafetensorsFile.Open(Path.Combine(Reference.Value, referenceFile));
        using var tokens = reference.Read("tokens");
        using var expected = reference.Read("logits");
        using var noGrad = torch.no_grad();
        using var actual = model.call(tokens);
        Assert.Equal(expected.shape, actual.shape);
        double maxDiff = (actual.to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs().max().item<double>();
        Assert.True(maxDiff <= tolerance, $"max |logits - reference| = {maxDiff:G4} > {tolerance}");
    }

    private static string RunReferenceScript()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ModelGen.sln")))
            dir = dir.Parent;
        string scripts = Path.Combine(dir?.FullName ?? throw new InvalidOperationException("ModelGen.sln not found"), "tests", "python");
        string output = Directory.CreateTempSubdirectory("modelgen-reference-").FullName;
        var info = new ProcessStartInfo("python3") { WorkingDirectory = scripts, RedirectStandardOutput = true, RedirectStandardError = true };
        // No __pycache__ beside the scripts in the repository.
        info.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        info.ArgumentList.Add("reference_models.py");
        info.ArgumentList.Add(output);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("reference_models.py ran past 120 s");
        }

        if (process.ExitCode != 0)
            throw new InvalidOperationException($"reference_models.py exited {process.ExitCode}: {stderr.Result}{stdout.Result}");
        return output;
    }
}
