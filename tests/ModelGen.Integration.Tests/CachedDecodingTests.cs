using System;
using System.Linq;
using Gpt2Sample;
using LlamaSample;
using ModelGen;
using ModelGen.Inference;
using ModelGen.Memory;
using ModelGen.Nn;
using ModelGen.Specs;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

/// <summary>An encoder: bidirectional attention, so no KV cache is generated for it.</summary>
[Model(typeof(LlamaConfig))]
public partial class TinyEncoder
{
    [Embedding(nameof(LlamaConfig.Vocab), nameof(LlamaConfig.Hidden))] public partial Embedding Embed { get; }
    [Attention(nameof(LlamaConfig.Hidden), nameof(LlamaConfig.Heads), Causal = false)] public partial Attention Attn { get; }

    private Tensor Forward(Tensor tokens) => Attn.call(Embed.call(tokens));
}

/// <summary>Generated decoders: the cached forward reproduces the uncached logits token by token, and the cache is what the memory model counts.</summary>
[Collection(GlobalRandomStream.Name)]
public class CachedDecodingTests
{
    /// <summary>Prefill of <paramref name="prefill"/> tokens, then one token per call; each chunk's logits against the full forward's.</summary>
    private static void AssertCachedEqualsUncached<TModel>(TModel model, long vocab, int length, int prefill)
        where TModel : nn.Module<Tensor, Tensor>, ICachedLanguageModel
    {
        model.eval();
        var tokens = torch.randint(0, vocab, new long[] { 2, length }, ScalarType.Int64);
        using var _ = torch.no_grad();
        var full = model.call(tokens);
        using var cache = new KvCache(model.CacheOptions(2, length));
        Assert.Equal(KvCache.Bytes(cache.Options), cache.AllocatedBytes);
        var start = 0;
        while (start < length)
        {
            var count = start == 0 ? prefill : 1;
            var chunk = tokens.narrow(1, start, count);
            var positions = torch.arange(start, start + count, dtype: ScalarType.Int64).unsqueeze(0).expand(2, count);
            var logits = model.Forward(chunk, cache, positions, torch.ones_like(chunk));
            var expected = full.narrow(1, start, count);
            var error = (logits - expected).abs().max().item<float>();
            Assert.True(error < 1e-4f, $"{typeof(TModel).Name}: tokens {start}…{start + count - 1} differ from the uncached logits by {error}");
            start += count;
            Assert.Equal(start, cache.Length);
        }
        // The uncached forward works again after the cached one (no binding left behind).
        Assert.True((model.call(tokens) - full).abs().max().item<float>() < 1e-6f);
    }

    [Fact]
    public void Generated_llama_decodes_with_the_cache_as_without()
    {
        torch.manual_seed(11);
        using var model = new HuggingFaceLlama(LlamaConfig.Tiny);
        AssertCachedEqualsUncached(model, LlamaConfig.Tiny.Vocab, length: 12, prefill: 5);
    }

    [Fact]
    public void Generated_gpt2_with_learned_positions_continues_them_across_calls()
    {
        torch.manual_seed(12);
        using var model = new Gpt2(Gpt2Config.Tiny);
        model.InitializeWeights();
        AssertCachedEqualsUncached(model, Gpt2Config.Tiny.Vocab, length: 10, prefill: 3);
    }

    [Fact]
    public void Generate_greedy_equals_the_argmax_of_the_uncached_model()
    {
        torch.manual_seed(13);
        using var model = new Gpt2(Gpt2Config.Tiny);
        model.InitializeWeights();
        model.eval();
        var prompt = new long[] { 5, 9, 1, 33 };
        var result = model.Generate(new[] { prompt }, new GenerationOptions { MaxNewTokens = 6 });
        var sequence = prompt.ToList();
        using var _ = torch.no_grad();
        for (var step = 0; step < 6; step++)
        {
            var logits = model.call(torch.tensor(sequence.ToArray()).unsqueeze(0));
            sequence.Add(logits[0, -1].argmax().item<long>());
        }
        Assert.Equal(sequence.Skip(prompt.Length), result.Tokens[0]);
    }

    [Fact]
    public void Batched_left_padded_generation_equals_one_prompt_at_a_time_with_learned_positions()
    {
        torch.manual_seed(14);
        using var model = new Gpt2(Gpt2Config.Tiny);
        model.InitializeWeights();
        model.eval();
        var prompts = new[] { new long[] { 3, 17, 40, 8, 22, 9 }, new long[] { 51, 2 } };
        var options = new GenerationOptions { MaxNewTokens = 5, PadToken = 0 };
        var batched = model.Generate(prompts, options);
        for (var row = 0; row < prompts.Length; row++)
            Assert.Equal(model.Generate(new[] { prompts[row] }, options).Tokens[0], batched.Tokens[row]);
    }

    [Fact]
    public void An_int8_cache_stays_close_to_the_float_cache()
    {
        torch.manual_seed(15);
        using var model = new HuggingFaceLlama(LlamaConfig.Tiny);
        model.eval();
        var tokens = torch.randint(0, LlamaConfig.Tiny.Vocab, new long[] { 1, 8 }, ScalarType.Int64);
        var positions = torch.arange(8, dtype: ScalarType.Int64).unsqueeze(0);
        Tensor Run(bool int8)
        {
            model.KvCacheInt8 = int8;
            using var cache = new KvCache(model.CacheOptions(1, 8));
            Assert.Equal(int8, cache.Options.Int8);
            return ((ICachedLanguageModel)model).Forward(tokens, cache, positions, torch.ones_like(tokens));
        }
        var full = Run(false);
        var quantized = Run(true);
        var relative = ((quantized - full).abs().max() / full.abs().max()).item<float>();
        Assert.True(relative > 0 && relative < 0.005f, $"int8 cache logits differ by {relative:P3} of the largest logit");
    }

    [Fact]
    public void Only_decoders_get_a_cache()
    {
        Assert.True(typeof(ICachedLanguageModel).IsAssignableFrom(typeof(Gpt2)));
        Assert.True(typeof(ICachedLanguageModel).IsAssignableFrom(typeof(HuggingFaceLlama)));
        Assert.False(typeof(ICachedLanguageModel).IsAssignableFrom(typeof(TinyEncoder)));
        Assert.False(typeof(ICachedLanguageModel).IsAssignableFrom(typeof(TinyModel)));
    }

    [Theory]
    [InlineData(1, 32, false)]
    [InlineData(3, 20, true)]
    public void The_cache_allocated_is_the_memory_models_kv_cache_term(long batch, long length, bool bf16)
    {
        var config = LlamaConfig.Tiny;
        using var model = new Llama(config, bf16 ? DType.BFloat16 : DType.Float32);
        var options = model.CacheOptions(batch, length);
        Assert.Equal(config.Layers, options.Layers);
        Assert.Equal(config.KvHeads, options.KvHeads);
        Assert.Equal(config.Hidden / config.Heads, options.HeadDim);
        using var cache = new KvCache(options);
        var spec = Llama.DescribeModel(config);
        var estimate = MemoryModel.Estimate(spec, new ScenarioSpec(1, Workload.Inference, length, batch, Optimizer.AdamW), DeviceProfile.Cpu);
        Assert.Equal(estimate.Term(MemoryTerms.KvCache), cache.AllocatedBytes);
    }
}
