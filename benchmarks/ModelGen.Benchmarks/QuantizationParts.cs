using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using ModelGen.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Benchmarks;

/// <summary>
/// The parts of one 256-token bf16 prefill call of a 4096 × 4096 quantized layer, each timed alone (<c>quant-compare --parts</c>):
/// rebuilding one 2048-row tile per format, libtorch's <c>fill_</c> of the same tile (the cost of merely writing it), one tile's
/// GEMM into its columns of the output, Int8's scale pass over the output, and for scale bf16's <c>linear</c> on the whole weight. Interleaved round by round like
/// <see cref="QuantizationComparison"/>, in a new order each round; best and median wall time of the rounds. With <c>--threads 1</c> every part runs on one
/// thread, so a loaded machine's best-of figures still rank the loops; the sum of the parts is not the layer's time (no hand-overs).
/// </summary>
internal static class QuantizationParts
{
    private const long Features = 4096, TileRows = 2048, Tokens = 256;

    public static void Run(int rounds, TextWriter log)
    {
        using var scope = NewDisposeScope();
        var layers = new Dictionary<string, Dictionary<string, Tensor>>
        {
            ["int8"] = State("int8"),
            ["int4-g128"] = State("int4-g128"),
            ["nf4-b64"] = State("nf4-b64"),
            ["nf4-b64-dq"] = State("nf4-b64-dq"),
        };
        var tile = empty(new[] { TileRows, Features }, ScalarType.BFloat16);
        var rows = randn(new[] { Tokens, Features }, ScalarType.BFloat16, generator: new Generator(7));
        var output = zeros(new[] { Tokens, Features }, ScalarType.BFloat16);
        var columns = output.narrow(1, 0, TileRows);
        var tileT = tile.t();
        var whole = randn(new[] { Features, Features }, ScalarType.BFloat16, generator: new Generator(3));

        var parts = new (string Name, Action Call)[]
        {
            ("tile int8 (byte tables)", () => Bf16TileDequantizer.Int8(layers["int8"]["weight"], 0, TileRows, tile)),
            ("tile int8 (converting)", () => Int8Converting(layers["int8"]["weight"], tile)),
            ("tile int4-g128", () => Bf16TileDequantizer.Int4(layers["int4-g128"]["weight"], layers["int4-g128"]["weight_scale"], layers["int4-g128"]["weight_zero"], 128, 0, TileRows, tile)),
            ("tile nf4-b64", () => Bf16TileDequantizer.NF4(layers["nf4-b64"]["weight"], new[] { layers["nf4-b64"]["weight_absmax"] }, 64, 0, TileRows, tile)),
            ("tile nf4-b64-dq", () => Bf16TileDequantizer.NF4(layers["nf4-b64-dq"]["weight"],
                new[] { layers["nf4-b64-dq"]["weight_absmax_q"], layers["nf4-b64-dq"]["weight_absmax_scale"], layers["nf4-b64-dq"]["weight_absmax_offset"] }, 64, 0, TileRows, tile)),
            ("fill_ of the tile", () => tile.fill_(1.0)),
            ("GEMM of one tile (addmm_)", () => columns.addmm_(rows, tileT, 0, 1)),
            ("bf16 linear, whole weight", () => { using var r = nn.functional.linear(rows, whole); }),
            ("int8 scale pass (output)", () => Bf16TileDequantizer.ScaleOutput(output, layers["int8"]["weight_scale"], null)),
        };
        var times = parts.ToDictionary(p => p.Name, _ => new List<double>());
        foreach (var (_, call) in parts)
            call(); // warm-up: JIT
        var shuffle = new Random(11);
        for (int round = 0; round < rounds; round++)
        {
            // A new order each round: a part that follows one reading the same codes would find them in cache.
            foreach (var (name, call) in parts.OrderBy(_ => shuffle.Next()))
            {
                var clock = Stopwatch.StartNew();
                call();
                times[name].Add(clock.Elapsed.TotalMilliseconds);
            }
        }
        log.WriteLine($"quant-compare --parts: 2048 × 4096 tile, 256 tokens, {torch.get_num_threads()} threads, {rounds} rounds; {ModelGen.Benchmarking.IdleMachine.Describe()}");
        foreach (var (name, _) in parts)
        {
            var sorted = times[name].OrderBy(t => t).ToList();
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-28} best {sorted[0],7:F3} ms  median {sorted[sorted.Count / 2],7:F3} ms"));
        }
        foreach (var state in layers.Values)
        {
            foreach (var buffer in state.Values)
                buffer.Dispose();
        }
    }

    private static void Int8Converting(Tensor codes, Tensor tile)
    {
        Bf16TileDequantizer.ForceNoByteTables = true;
        try
        {
            Bf16TileDequantizer.Int8(codes, 0, TileRows, tile);
        }
        finally
        {
            Bf16TileDequantizer.ForceNoByteTables = false;
        }
    }

    private static Dictionary<string, Tensor> State(string format)
    {
        using var layer = (QuantizedLinear)QuantizationBenchmarks.CreateLayer(format);
        return layer.state_dict().ToDictionary(p => p.Key, p => p.Value.clone().DetachFromDisposeScope());
    }
}
