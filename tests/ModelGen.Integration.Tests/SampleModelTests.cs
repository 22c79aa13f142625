using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Gpt2Sample;
using LlamaSample;
using ModelGen.Specs;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Integration.Tests;

/// <summary>
/// The GPT-2 and Llama samples as shipped: the real configs have the published parameter counts, the tiny configs learn,
/// and state_dicts round-trip under the key names docs/samples.md documents.
/// </summary>
[Collection(GlobalRandomStream.Name)]
public class SampleModelTests
{
    [Fact]
    public void Gpt2_small_has_the_published_124_439_808_parameters()
    {
        // On the meta device the tensors have shapes but no storage: the real size costs no memory.
        using var model = new Gpt2(new Gpt2Config(), device: torch.META);
        Assert.All(model.parameters(), p => Assert.True(p.is_meta, "parameter has storage"));
        // wte 50257·768 + wpe 1024·768 + 12 · (2 LayerNorms 2·768 + attention 4·(768² + 768) + MLP 2·768·3072 + 3072 + 768)
        // + ln_f 2·768; the tied head adds nothing.
        Assert.Equal(38_597_376L + 786_432 + 12 * (3_072 + 2_362_368 + 4_722_432) + 1_536, 124_439_808L);
        // An untied head would add another 38,597,376.
        Assert.Equal(124_439_808L, model.parameters().Sum(p => p.numel()));
        Assert.Equal(124_439_808L, SpecParameters.Count(Gpt2.DescribeModel(new Gpt2Config())));
    }

    [Fact]
    public void Llama_3_8B_has_the_published_8_030_261_248_parameters()
    {
        // embed and head 128256·4096 each (untied) + 32 · (attention 2·4096² + 2·4096·1024 + SwiGLU 3·4096·14336 + 2 norms 2·4096)
        // + final norm 4096.
        Assert.Equal(2 * 525_336_576L + 32 * (41_943_040L + 176_160_768 + 8_192) + 4_096, 8_030_261_248L);
        Assert.Equal(8_030_261_248L, SpecParameters.Count(Llama.DescribeModel(new LlamaConfig())));

        // The module itself, with every real width but 2 layers and a small vocabulary, built on the meta device: TorchSharp
        // 0.107.0 creates an Embedding's weight on the CPU in fp32 before moving it, so the real 128256-row table would cost
        // 2 GB and seconds even on meta. Equal counts here show the spec the real count came from describes the real module.
        var trimmed = new LlamaConfig { Vocab = 1000, Layers = 2 };
        using var model = new Llama(trimmed, device: torch.META);
        Assert.All(model.parameters(), p => Assert.True(p.is_meta, "parameter has storage"));
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        Assert.Equal(SpecParameters.Count(Llama.DescribeModel(trimmed)), model.parameters().Sum(p => p.numel()));
        Assert.Equal(2 * 1000L * 4096 + 2 * (41_943_040L + 176_160_768 + 8_192) + 4_096, model.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void Tiny_gpt2_trains_with_falling_loss()
    {
        torch.manual_seed(11);
        var config = Gpt2Config.Tiny;
        using var model = new Gpt2(config);
        model.InitializeWeights();
        var losses = Train(model, config.Vocab, steps: 30);
        // GPT-2's initialization starts at chance level, ln(64) ≈ 4.16.
        Assert.InRange(losses[0], 3.9f, 4.5f);
        Assert.True(losses[^1] < 0.7f * losses[0], $"loss did not fall: {string.Join(", ", losses)}");
    }

    [Fact]
    public void Tiny_llama_trains_with_falling_loss()
    {
        torch.manual_seed(12);
        var config = LlamaConfig.Tiny;
        using var model = new Llama(config);
        Assert.True(model.Blocks.All(b => b.CheckpointActivations), "the sample's blocks are [Checkpoint]");
        // bf16 and checkpointed, so each step is slower on the CPU than GPT-2's: fewer steps, the same required fall.
        var losses = Train(model, config.Vocab, steps: 15);
        Assert.True(losses[^1] < 0.7f * losses[0], $"loss did not fall: {string.Join(", ", losses)}");
    }

    [Fact]
    public void Gpt2_state_dict_round_trips_under_the_documented_keys()
    {
        var config = Gpt2Config.Tiny;
        var expected = new List<string> { "wte.weight", "wpe.weight", "ln_f.weight", "ln_f.bias", "lm_head.weight" };
        for (var i = 0; i < config.Layers; i++)
        {
            expected.AddRange(new[]
            {
                $"h.{i}.ln_1.weight", $"h.{i}.ln_1.bias",
                $"h.{i}.attn.q_proj.weight", $"h.{i}.attn.q_proj.bias", $"h.{i}.attn.k_proj.weight", $"h.{i}.attn.k_proj.bias",
                $"h.{i}.attn.v_proj.weight", $"h.{i}.attn.v_proj.bias", $"h.{i}.attn.o_proj.weight", $"h.{i}.attn.o_proj.bias",
                $"h.{i}.ln_2.weight", $"h.{i}.ln_2.bias",
                $"h.{i}.mlp.up_proj.weight", $"h.{i}.mlp.up_proj.bias", $"h.{i}.mlp.down_proj.weight", $"h.{i}.mlp.down_proj.bias",
            });
        }
        Assert.Equal(Sorted(expected), Gpt2StateLayout.Keys(config));

        torch.manual_seed(13);
        using var model = new Gpt2(config);
        model.InitializeWeights();
        using var reloaded = new Gpt2(config);
        RoundTrip(model, reloaded, Sorted(expected), torch.arange(8).unsqueeze(0));
        // Still one tensor after the load: writing through the embedding changes the head.
        using (torch.no_grad())
            reloaded.Wte.weight!.mul_(2.0);
        Assert.True(reloaded.Wte.weight!.Equals(reloaded.LMHead.weight), "the head no longer shares the embedding's weight");
    }

    [Fact]
    public void Llama_state_dict_round_trips_under_the_documented_keys()
    {
        var config = LlamaConfig.Tiny;
        var expected = new List<string> { "embed.weight", "norm.weight", "head.weight" };
        for (var i = 0; i < config.Layers; i++)
        {
            expected.AddRange(new[]
            {
                $"blocks.{i}.attn_norm.weight",
                $"blocks.{i}.attn.q_proj.weight", $"blocks.{i}.attn.k_proj.weight", $"blocks.{i}.attn.v_proj.weight", $"blocks.{i}.attn.o_proj.weight",
                $"blocks.{i}.mlp_norm.weight",
                $"blocks.{i}.mlp.gate_proj.weight", $"blocks.{i}.mlp.up_proj.weight", $"blocks.{i}.mlp.down_proj.weight",
            });
        }

        torch.manual_seed(14);
        using var model = new Llama(config);
        using var reloaded = new Llama(config);
        RoundTrip(model, reloaded, Sorted(expected), torch.arange(8).unsqueeze(0));
    }

    [Fact]
    public void Gpt2_gradients_are_the_same_with_full_selective_or_no_checkpointing_with_dropout_on()
    {
        var config = Gpt2Config.Tiny;
        torch.manual_seed(15);
        using var model = new Gpt2(config);
        model.InitializeWeights();
        model.train();
        var tokens = torch.randint(0, config.Vocab, new long[] { 2, 12 });

        Dictionary<string, Tensor> Gradients(bool full, bool selective)
        {
            foreach (var block in model.H)
            {
                block.CheckpointActivations = full;
                block.Attn.CheckpointCore = selective;
            }
            model.zero_grad();
            torch.manual_seed(16);
            var loss = Precision.CrossEntropyFp32(model.call(tokens).reshape(-1, config.Vocab), tokens.reshape(-1));
            loss.backward();
            return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        }

        var plain = Gradients(full: false, selective: false);
        foreach (var (full, selective) in new[] { (true, false), (false, true) })
        {
            var checkpointed = Gradients(full, selective);
            foreach (var (name, grad) in plain)
                Assert.True(grad.allclose(checkpointed[name], rtol: 1e-5, atol: 1e-7), $"gradient of {name} differs (full {full}, selective {selective})");
        }
    }

    /// <summary>
    /// Next-token prediction on arithmetic sequences mod the vocabulary (start and stride random per row), a task a tiny
    /// decoder learns in a few dozen steps; returns the loss of every step.
    /// </summary>
    private static float[] Train(nn.Module<Tensor, Tensor> model, int vocab, int steps)
    {
        const int Batch = 8, Length = 16;
        model.train();
        var optimizer = torch.optim.AdamW(model.parameters(), lr: 3e-3);
        var losses = new float[steps];
        for (var step = 0; step < steps; step++)
        {
            using var scope = torch.NewDisposeScope();
            var start = torch.randint(0, vocab, new long[] { Batch, 1 });
            var stride = torch.randint(1, 4, new long[] { Batch, 1 });
            var tokens = (start + stride * torch.arange(Length + 1).unsqueeze(0)).remainder(vocab);
            optimizer.zero_grad();
            var logits = model.call(tokens[.., ..Length]);
            var loss = Precision.CrossEntropyFp32(logits.reshape(-1, vocab), tokens[.., 1..].reshape(-1));
            loss.backward();
            optimizer.step();
            losses[step] = loss.item<float>();
            Assert.False(float.IsNaN(losses[step]), $"loss is NaN at step {step}");
        }
        return losses;
    }

    /// <summary>Saves <paramref name="model"/>, loads it into <paramref name="reloaded"/>, and checks the keys and the outputs.</summary>
    private static void RoundTrip(nn.Module<Tensor, Tensor> model, nn.Module<Tensor, Tensor> reloaded, string[] expectedKeys, Tensor probe)
    {
        Assert.Equal(expectedKeys, Sorted(model.state_dict().Keys));
        model.eval();
        reloaded.eval();
        using var noGrad = torch.no_grad();
        var expected = model.call(probe);
        // Differently initialized before the load, so equal outputs after it mean the weights really were loaded.
        Assert.False(expected.Equals(reloaded.call(probe)), "two fresh models compute the same thing");

        var path = Path.Combine(Path.GetTempPath(), $"modelgen-sample-{Guid.NewGuid():N}.bin");
        try
        {
            model.save(path);
            reloaded.load(path);
        }
        finally
        {
            File.Delete(path);
        }
        Assert.Equal(expectedKeys, Sorted(reloaded.state_dict().Keys));
        Assert.True(expected.Equals(reloaded.call(probe)), "the reloaded model computes something else");
    }

    private static string[] Sorted(IEnumerable<string> keys) => keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();

    /// <summary>
    /// Parameters a <see cref="ModelSpec"/> describes, block by block, with the shapes the runtime modules create
    /// (ModelGen.Nn.Attention, FeedForward, TorchSharp Linear/Embedding/LayerNorm). A tied block adds nothing: it has no weight of its own.
    /// </summary>
    private static class SpecParameters
    {
        public static long Count(ModelSpec model) => Count(model.Root, model);

        private static long Count(LayerSpec layer, ModelSpec model) => layer.Blocks.Sum(block => block.TiedTo is null ? Count(block, model) : 0);

        private static long Count(BlockSpec block, ModelSpec model)
        {
            switch (block)
            {
                case LinearSpec l:
                    return l.In.Value * l.Out.Value + (l.Bias ? l.Out.Value : 0);
                case EmbeddingSpec e:
                    return e.Count.Value * e.Width.Value;
                case LayerNormSpec n:
                    return n.Hidden.Value * (n.Bias ? 2 : 1);
                case RmsNormSpec r:
                    return r.Hidden.Value;
                case DropoutSpec:
                    return 0;
                case AttentionSpec a:
                    long hidden = a.Hidden.Value, kv = a.KvHeads.Value * (hidden / a.Heads.Value);
                    // q and o: hidden × hidden; k and v: hidden × kvHeads·headDim.
                    return 2 * hidden * hidden + 2 * hidden * kv + (a.Bias ? 2 * hidden + 2 * kv : 0);
                case FeedForwardSpec f:
                    var projections = f.Activation == FeedForwardActivation.SwiGlu ? 2 : 1;
                    return (projections + 1) * f.Hidden.Value * f.Inner.Value + (f.Bias ? projections * f.Inner.Value + f.Hidden.Value : 0);
                case LayerRefSpec r:
                    return Count(Layer(model, r.LayerType), model);
                case StackSpec s:
                    return s.Count.Value * Count(Layer(model, s.LayerType), model);
                default:
                    throw new NotSupportedException($"No parameter count for {block.GetType().Name} '{block.Name}'.");
            }
        }

        private static LayerSpec Layer(ModelSpec model, string fullName) => model.Layers.Single(l => l.FullName == fullName);
    }
}
