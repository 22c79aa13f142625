using System;
using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using ModelGen.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Benchmarks;

/// <summary>
/// Inference forward time of a quantized Linear (libtorch's packed int8/int4 CPU kernels at few tokens, row tiles dequantized
/// otherwise and always for NF4; see docs/quantization.md) against a plain bf16 Linear of the same shape, with the bytes each
/// one stores for its weight. The shape is a Llama-7B attention projection (4096 × 4096);
/// <see cref="Tokens"/> = 1 is a decode step, 256 a prefill chunk.
/// </summary>
[Config(typeof(StoredBytesConfig))]
[MedianColumn]
[MemoryDiagnoser(false)]
public class QuantizationBenchmarks
{
    private const long Features = 4096;
    private readonly Dictionary<string, nn.Module<Tensor, Tensor>> _layers = new();
    private Tensor? _input;

    /// <summary>Rows of the input (tokens in one call).</summary>
    [Params(1, 256)]
    public int Tokens { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        foreach (var format in new[] { "bf16", "int8", "int4-g128", "nf4-b64", "nf4-b64-dq" })
            _layers[format] = CreateLayer(format);
        _input = randn(new[] { Tokens, Features }, ScalarType.BFloat16, generator: new Generator(7));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var layer in _layers.Values)
            layer.Dispose();
        _layers.Clear();
        _input?.Dispose();
    }

    /// <summary>The baseline: a plain bf16 Linear.</summary>
    [Benchmark(Baseline = true, Description = "bf16")]
    public void Bf16() => Forward("bf16");

    [Benchmark(Description = "int8")]
    public void Int8() => Forward("int8");

    [Benchmark(Description = "int4-g128")]
    public void Int4() => Forward("int4-g128");

    [Benchmark(Description = "nf4-b64")]
    public void NF4() => Forward("nf4-b64");

    [Benchmark(Description = "nf4-b64-dq")]
    public void NF4DoubleQuant() => Forward("nf4-b64-dq");

    /// <summary>One inference forward: no graph, the dequantized weight freed before it returns.</summary>
    private void Forward(string format)
    {
        using var noGrad = no_grad();
        using var output = _layers[format].call(_input!);
    }

    /// <summary>The layer of a format, weights drawn like nn.Linear's, computing in bf16.</summary>
    internal static nn.Module<Tensor, Tensor> CreateLayer(string format) => format switch
    {
        "bf16" => nn.Linear(Features, Features, hasBias: false, dtype: ScalarType.BFloat16),
        "int8" => Quantized(QuantKind.Int8, 0, false),
        "int4-g128" => Quantized(QuantKind.Int4, 128, false),
        "nf4-b64" => Quantized(QuantKind.NF4, 64, false),
        "nf4-b64-dq" => Quantized(QuantKind.NF4, 64, true),
        _ => throw new ArgumentException($"Unknown format '{format}'.", nameof(format)),
    };

    /// <summary>Bytes the layer holds for its weight: the quantized buffers, or the bf16 weight tensor.</summary>
    internal static long StoredBytes(nn.Module<Tensor, Tensor> layer) => layer switch
    {
        QuantizedLinear q => q.StoredBytes,
        _ => layer.parameters().Sum(p => p.numel() * p.ElementSize),
    };

    private static QuantizedLinear Quantized(QuantKind kind, int groupSize, bool doubleQuant) =>
        new(Features, Features, false, kind, groupSize, doubleQuant, ScalarType.BFloat16, null);

    /// <summary>Adds the stored-bytes columns.</summary>
    private sealed class StoredBytesConfig : ManualConfig
    {
        public StoredBytesConfig()
        {
            AddColumn(new StoredBytesColumn(perParameter: false));
            AddColumn(new StoredBytesColumn(perParameter: true));
        }
    }

    /// <summary>Weight bytes (or bytes per parameter) of the benchmarked format, read from a layer built in the host process.</summary>
    private sealed class StoredBytesColumn(bool perParameter) : IColumn
    {
        private static readonly Dictionary<string, long> Cache = new();

        public string Id => perParameter ? "StoredBytesPerParam" : "StoredWeightBytes";
        public string ColumnName => perParameter ? "B/param" : "Weight MiB";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => perParameter ? 1 : 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => perParameter ? "Stored weight bytes / (in·out)" : "Stored weight bytes in MiB (2^20)";

        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var format = benchmarkCase.Descriptor.WorkloadMethodDisplayInfo.Trim('\'');
            if (!Cache.TryGetValue(format, out var bytes))
            {
                using var layer = CreateLayer(format);
                bytes = StoredBytes(layer);
                Cache[format] = bytes;
            }

            return perParameter
                ? (bytes / (double)(Features * Features)).ToString("0.#####", System.Globalization.CultureInfo.InvariantCulture)
                : (bytes / (double)(1 << 20)).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
