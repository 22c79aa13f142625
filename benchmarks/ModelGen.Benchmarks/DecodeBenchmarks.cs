using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using BenchmarkDotNet.Attributes;
using ModelGen.Inference;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Benchmarks;

/// <summary>
/// Decoding speed of a generated Llama-style decoder through its <c>Generate</c> (KV cache, greedy), bf16 against MLPs in int8,
/// int4 and NF4, at the tiny and medium sizes of <see cref="DecodeConfig"/>. One operation is one generated token
/// (<c>OperationsPerInvoke</c>), so BenchmarkDotNet's mean is seconds per token: tokens/s = 1 / mean. The 8-token prompt's
/// prefill is included, spread over the 32 tokens (about 1/32 of a decode step's cost per token).
/// </summary>
[MedianColumn]
public class DecodeBenchmarks
{
    /// <summary>Tokens generated per invocation.</summary>
    public const int NewTokens = 32;

    private const int PromptLength = 8;
    private static readonly string[] Formats = ["bf16", "int8", "int4", "nf4"];
    private readonly Dictionary<string, nn.Module<Tensor, Tensor>> _models = new();
    private long[][] _prompt = [];

    /// <summary>The decoder size: <c>tiny</c> or <c>medium</c>.</summary>
    [Params("tiny", "medium")]
    public string Size { get; set; } = "tiny";

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(Math.Max(1, Environment.ProcessorCount));
        var config = Config(Size);
        foreach (var format in Formats)
            _models[format] = Create(format, config);
        var random = new Random(3);
        _prompt = [Enumerable.Range(0, PromptLength).Select(_ => (long)random.Next(config.Vocab)).ToArray()];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var model in _models.Values)
            model.Dispose();
        _models.Clear();
    }

    [Benchmark(Baseline = true, Description = "bf16", OperationsPerInvoke = NewTokens)]
    public GenerationResult Bf16() => Decode(_models["bf16"], _prompt);

    [Benchmark(Description = "int8", OperationsPerInvoke = NewTokens)]
    public GenerationResult Int8() => Decode(_models["int8"], _prompt);

    [Benchmark(Description = "int4-g128", OperationsPerInvoke = NewTokens)]
    public GenerationResult Int4() => Decode(_models["int4"], _prompt);

    [Benchmark(Description = "nf4-b64", OperationsPerInvoke = NewTokens)]
    public GenerationResult Nf4() => Decode(_models["nf4"], _prompt);

    /// <summary>
    /// One timed pass over every format and size, printed as tokens per second with the load average: proves the benchmark
    /// runs on a busy machine (where its numbers are not results), and is the quick look on an idle one.
    /// </summary>
    public static void Check(TextWriter log)
    {
        log.WriteLine($"decode check ({NewTokens} tokens after an {PromptLength}-token prompt, greedy, bf16 compute); {ModelGen.Benchmarking.IdleMachine.Describe()}");
        foreach (var size in new[] { "tiny", "medium" })
        {
            var benchmark = new DecodeBenchmarks { Size = size };
            benchmark.Setup();
            try
            {
                foreach (var format in Formats)
                {
                    var model = benchmark._models[format];
                    Decode(model, benchmark._prompt); // warm-up
                    var clock = Stopwatch.StartNew();
                    var result = Decode(model, benchmark._prompt);
                    clock.Stop();
                    var tokens = result.Tokens[0].Length;
                    log.WriteLine($"{size,-6} {format,-5} {tokens / clock.Elapsed.TotalSeconds,10:F1} tokens/s   first tokens: {string.Join(" ", result.Tokens[0].Take(6))}");
                }
            }
            finally
            {
                benchmark.Cleanup();
            }
        }
        log.WriteLine(ModelGen.Benchmarking.IdleMachine.IsIdle() ? "machine idle: figures usable" : "machine busy: these figures are not results");
    }

    private static GenerationResult Decode(nn.Module<Tensor, Tensor> model, long[][] prompt) =>
        TextGenerator.Generate((ICachedLanguageModel)model, prompt, new GenerationOptions { MaxNewTokens = NewTokens });

    private static DecodeConfig Config(string size) => size switch
    {
        "tiny" => DecodeConfig.Tiny,
        "medium" => DecodeConfig.Medium,
        _ => throw new ArgumentException($"Unknown size '{size}'; use tiny or medium.", nameof(size)),
    };

    private static nn.Module<Tensor, Tensor> Create(string format, DecodeConfig config)
    {
        torch.manual_seed(1);
        nn.Module<Tensor, Tensor> model = format switch
        {
            "bf16" => new Bf16Decoder(config),
            "int8" => new Int8Decoder(config),
            "int4" => new Int4Decoder(config),
            "nf4" => new Nf4Decoder(config),
            _ => throw new ArgumentException($"Unknown format '{format}'.", nameof(format)),
        };
        model.eval();
        return model;
    }
}
