using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using ModelGen.Adapters;
using ModelGen.Quantization;
using ModelGen.Runtime.Tests.Quantization;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Adapters;

/// <summary>Adapters saved alone under PEFT's names and loaded into a fresh base.</summary>
public sealed class AdapterFileTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "modelgen-lora-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void Saved_adapters_reload_into_a_fresh_base_with_identical_outputs()
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        manual_seed(20);
        var trained = new TinyBlock();
        var baseWeights = trained.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        LoRA.Apply(trained, LoraApplyTests.AttentionAndMlp);
        LoraApplyTests.RandomizeAllB(trained, 21);
        using var x = randn(2, 6, 32);
        using var expected = trained.call(x);

        LoRA.Save(trained, _directory);

        manual_seed(99);
        var fresh = new TinyBlock();
        fresh.load_state_dict(baseWeights);
        var loaded = LoRA.Load(fresh, _directory);
        Assert.Equal(6, loaded.Count);
        using var actual = fresh.call(x);

        Assert.True(QuantTestData.Identical(actual, expected));
    }

    [Fact]
    public void The_files_have_peft_names_and_the_safetensors_layout()
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        manual_seed(22);
        var block = new TinyBlock();
        LoRA.Apply(block, LoraApplyTests.AttentionAndMlp with { Dropout = 0.05 });
        LoRA.Save(block, _directory);

        var bytes = File.ReadAllBytes(Path.Combine(_directory, LoRA.WeightsFileName));
        long headerLength = BitConverter.ToInt64(bytes, 0);
        Assert.Equal(0, (8 + headerLength) % 8);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength));
        var q = header.RootElement.GetProperty("base_model.model.self_attn.q_proj.lora_A.weight");
        Assert.Equal("F32", q.GetProperty("dtype").GetString());
        Assert.Equal(new long[] { 4, 32 }, q.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray());
        var offsets = q.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        Assert.Equal(4 * 32 * 4, offsets[1] - offsets[0]);
        // The stored bytes are the little-endian floats of A.
        var a = LoRA.Adapters(block).Single(p => p.Path == "self_attn.q_proj").Adapter.lora_A.weight!;
        float first = BitConverter.ToSingle(bytes, (int)(8 + headerLength + offsets[0]));
        Assert.Equal(a[0, 0].item<float>(), first);
        int tensors = header.RootElement.EnumerateObject().Count(p => p.Name != "__metadata__");
        Assert.Equal(12, tensors);
        long dataEnd = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__")
            .Max(p => p.Value.GetProperty("data_offsets")[1].GetInt64());
        Assert.Equal(bytes.Length, 8 + headerLength + dataEnd);

        using var config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_directory, LoRA.ConfigFileName)));
        Assert.Equal("LORA", config.RootElement.GetProperty("peft_type").GetString());
        Assert.Equal(4, config.RootElement.GetProperty("r").GetInt32());
        Assert.Equal(8, config.RootElement.GetProperty("lora_alpha").GetDouble());
        Assert.Equal(0.05, config.RootElement.GetProperty("lora_dropout").GetDouble());
        Assert.Equal(new[] { "down_proj", "gate_proj", "o_proj", "q_proj", "up_proj", "v_proj" },
            config.RootElement.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()).ToArray());
    }

    [Fact]
    public void Qlora_adapters_reload_onto_the_same_quantized_base()
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        manual_seed(23);
        var model = new TinyQuantizedClassifier(QuantKind.NF4);
        var baseState = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        LoRA.Apply(model, new LoraOptions { Rank = 8, Alpha = 16, TargetModules = new[] { "up_proj", "down_proj" } });
        LoraApplyTests.RandomizeAllB(model, 24);
        using var x = randn(3, 64);
        using var expected = model.call(x);
        LoRA.Save(model, _directory);

        var fresh = new TinyQuantizedClassifier(QuantKind.NF4);
        fresh.load_state_dict(baseState);
        LoRA.Load(fresh, _directory);
        using var actual = fresh.call(x);
        Assert.True(QuantTestData.Identical(actual, expected));
    }

    [Fact]
    public void Mismatched_files_are_refused_and_nothing_is_copied()
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        manual_seed(25);
        var block = new TinyBlock();
        LoRA.Apply(block, LoraApplyTests.AttentionAndMlp);
        LoRA.Save(block, _directory);

        var other = new TinyBlock();
        LoRA.Apply(other, LoraApplyTests.AttentionAndMlp with { Rank = 2 });
        var a = LoRA.Adapters(other)[0].Adapter.lora_A.weight!.detach().clone();
        var error = Assert.Throws<InvalidDataException>(() => LoRA.Load(other, _directory));
        Assert.Contains("r=4", error.Message);
        Assert.True(QuantTestData.Identical(a, LoRA.Adapters(other)[0].Adapter.lora_A.weight!));

        var fewer = new TinyBlock();
        LoRA.Apply(fewer, LoraApplyTests.AttentionAndMlp with { TargetModules = new[] { "q_proj" } });
        var extra = Assert.Throws<InvalidDataException>(() => LoRA.Load(fewer, _directory));
        Assert.Contains("no adapter of this model takes", extra.Message);

        File.WriteAllText(Path.Combine(_directory, LoRA.ConfigFileName), "{\"peft_type\":\"LORA\",\"r\":4,\"lora_alpha\":8,\"target_modules\":[\"q_proj\"],\"use_rslora\":true}");
        var rslora = Assert.Throws<InvalidDataException>(() => LoRA.Load(new TinyBlock(), _directory));
        Assert.Contains("use_rslora", rslora.Message);
    }

    [Fact]
    public void Bf16_adapters_are_stored_as_bf16_and_reload_bit_for_bit()
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        manual_seed(26);
        var model = new TinyQuantizedClassifier(QuantKind.Int8);
        var baseState = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        LoRA.Apply(model, new LoraOptions { Rank = 4, Alpha = 4, AdapterDtype = ScalarType.BFloat16, TargetModules = new[] { "up_proj" } });
        LoraApplyTests.RandomizeAllB(model, 27);
        using var x = randn(2, 64);
        using var expected = model.call(x);
        LoRA.Save(model, _directory);

        var bytes = File.ReadAllBytes(Path.Combine(_directory, LoRA.WeightsFileName));
        using (var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)BitConverter.ToInt64(bytes, 0))))
            Assert.Equal("BF16", header.RootElement.GetProperty("base_model.model.up_proj.lora_B.weight").GetProperty("dtype").GetString());

        var fresh = new TinyQuantizedClassifier(QuantKind.Int8);
        fresh.load_state_dict(baseState);
        var adapters = LoRA.Load(fresh, _directory);
        // The config carries no dtype (PEFT's neither): fresh adapters take the file's, so the forward is bit for bit the same.
        Assert.Equal(ScalarType.BFloat16, adapters[0].Adapter.lora_A.weight!.dtype);
        using var actual = fresh.call(x);
        Assert.True(QuantTestData.Identical(actual, expected));
    }

    /// <summary>
    /// A directory as Python's PEFT writes it: the config with PEFT's other fields, the safetensors header in another key order,
    /// with no metadata and no padding, and the data of B before A. Only what the format fixes may be relied on.
    /// </summary>
    [Fact]
    public void A_peft_style_directory_from_another_writer_loads()
    {
        // Every tensor the test makes is freed when it ends, not by finalizers during a later test's memory measurement.
        using var testScope = NewDisposeScope();
        Directory.CreateDirectory(_directory);
        File.WriteAllText(Path.Combine(_directory, LoRA.ConfigFileName), """
            {"alpha_pattern": {}, "auto_mapping": null, "base_model_name_or_path": "tiny", "bias": "none", "fan_in_fan_out": false,
             "inference_mode": true, "init_lora_weights": true, "layer_replication": null, "layers_pattern": null,
             "layers_to_transform": null, "loftq_config": {}, "lora_alpha": 16, "lora_dropout": 0.0, "megatron_config": null,
             "megatron_core": "megatron.core", "modules_to_save": null, "peft_type": "LORA", "r": 2, "rank_pattern": {},
             "revision": null, "target_modules": ["up_proj"], "task_type": "CAUSAL_LM", "use_dora": false, "use_rslora": false}
            """);
        // A = 0.01·(k + 1) over [2, 64], B = −0.5·(k + 1) over [128, 2], written B first.
        var a = Enumerable.Range(0, 2 * 64).Select(k => 0.01f * (k + 1)).ToArray();
        var b = Enumerable.Range(0, 128 * 2).Select(k => -0.5f * (k + 1)).ToArray();
        var data = b.Concat(a).SelectMany(BitConverter.GetBytes).ToArray();
        string header = "{\"base_model.model.up_proj.lora_B.weight\":{\"dtype\":\"F32\",\"shape\":[128,2],\"data_offsets\":[0,1024]}," +
            "\"base_model.model.up_proj.lora_A.weight\":{\"dtype\":\"F32\",\"shape\":[2,64],\"data_offsets\":[1024,1536]}}";
        var headerBytes = Encoding.UTF8.GetBytes(header);
        File.WriteAllBytes(Path.Combine(_directory, LoRA.WeightsFileName),
            BitConverter.GetBytes((long)headerBytes.Length).Concat(headerBytes).Concat(data).ToArray());

        var model = new TinyQuantizedClassifier(QuantKind.NF4);
        var adapter = LoRA.Load(model, _directory).Single();
        Assert.Equal("up_proj", adapter.Path);
        Assert.Equal(8.0, adapter.Adapter.Scaling);
        Assert.Equal(a, adapter.Adapter.lora_A.weight!.data<float>().ToArray());
        Assert.Equal(b, adapter.Adapter.lora_B.weight!.data<float>().ToArray());

        File.WriteAllText(Path.Combine(_directory, LoRA.ConfigFileName),
            "{\"peft_type\":\"LORA\",\"r\":2,\"lora_alpha\":16,\"target_modules\":[\"up_proj\"],\"layers_to_transform\":[0]}");
        Assert.Contains("layers_to_transform", Assert.Throws<InvalidDataException>(() => LoRA.Load(new TinyQuantizedClassifier(QuantKind.NF4), _directory)).Message);
    }
}
