using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Gpt2Sample;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Benchmarks;

/// <summary>
/// Forward + backward of the generated GPT-2 (samples/Gpt2) against the same model written by hand (<see cref="HandWrittenGpt2"/>),
/// for one decoder block and for the whole model. Both hold identical weights (checked in setup), run in training mode with
/// dropout on, on one CPU thread. Target: Generated / HandWritten ≤ 1.03.
/// </summary>
/// <remarks>
/// BenchmarkDotNet times the two methods one after the other, so a change in other load on the machine between them shows up in
/// its Ratio. The "Paired ratio" column is robust to that: it alternates the two steps (A B B A …) and reports the median of the
/// ratios of neighbouring pairs, which saw the same load.
/// </remarks>
[Config(typeof(PairedRatioConfig))]
public class GeneratedVsHandWrittenBenchmarks
{
    /// <summary>A GPT-2 at a size one CPU core runs in milliseconds: the generated code's fixed costs would show here first.</summary>
    internal static readonly Gpt2Config Config = new() { Vocab = 1024, Context = 128, Hidden = 256, Layers = 2, Heads = 4, Ffn = 1024 };
    private const int Batch = 4, Sequence = 128;

    private nn.Module<Tensor, Tensor>? _generated, _handWritten;
    private Tensor? _input, _targets;

    /// <summary>"block": one decoder block on hidden states; "model": embeddings, blocks, head and cross-entropy.</summary>
    [Params("block", "model")]
    public string Unit { get; set; } = "block";

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(1);
        torch.manual_seed(42);
        if (Unit == "block")
        {
            _generated = new Gpt2Block(Config);
            _handWritten = new HandWrittenGpt2Block(Config);
            _input = torch.randn(Batch, Sequence, Config.Hidden);
        }
        else
        {
            var model = new Gpt2(Config);
            model.InitializeWeights();
            _generated = model;
            _handWritten = new HandWrittenGpt2(Config);
            var tokens = torch.randint(0, Config.Vocab, new long[] { Batch, Sequence + 1 });
            _input = tokens[.., ..Sequence].contiguous();
            _targets = tokens[.., 1..].reshape(-1);
        }
        CopyWeightsAndCheckEqual(_generated, _handWritten, _input);
        _generated.train();
        _handWritten.train();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _generated?.Dispose();
        _handWritten?.Dispose();
        _input?.Dispose();
        _targets?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void HandWritten() => Step(_handWritten!);

    [Benchmark]
    public void Generated() => Step(_generated!);

    private void Step(nn.Module<Tensor, Tensor> module)
    {
        using var scope = torch.NewDisposeScope();
        module.zero_grad();
        var output = module.call(_input!);
        var loss = _targets is null
            ? output.square().mean()
            : nn.functional.cross_entropy(output.reshape(-1, Config.Vocab), _targets);
        loss.backward();
    }

    /// <summary>Loads the generated module's weights into the hand-written one and proves they compute the same function.</summary>
    private static void CopyWeightsAndCheckEqual(nn.Module<Tensor, Tensor> generated, nn.Module<Tensor, Tensor> handWritten, Tensor input)
    {
        var generatedKeys = generated.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal);
        var handWrittenKeys = handWritten.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal);
        if (!generatedKeys.SequenceEqual(handWrittenKeys))
            throw new InvalidOperationException("The hand-written model's state_dict keys differ from the generated model's.");
        handWritten.load_state_dict(generated.state_dict());
        generated.eval();
        handWritten.eval();
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        if (!generated.call(input).Equals(handWritten.call(input)))
            throw new InvalidOperationException("The hand-written model computes something else than the generated one.");
    }

    /// <summary>
    /// Median over <paramref name="pairs"/> adjacent (hand-written, generated) step pairs of generated time / hand-written time,
    /// alternating which runs first so neither always follows the other.
    /// </summary>
    internal static double PairedRatio(string unit, int pairs)
    {
        var benchmark = new GeneratedVsHandWrittenBenchmarks { Unit = unit };
        benchmark.Setup();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                benchmark.HandWritten();
                benchmark.Generated();
            }
            var ratios = new double[pairs];
            for (var i = 0; i < pairs; i++)
            {
                double hand, generated;
                if (i % 2 == 0)
                {
                    hand = Time(benchmark.HandWritten);
                    generated = Time(benchmark.Generated);
                }
                else
                {
                    generated = Time(benchmark.Generated);
                    hand = Time(benchmark.HandWritten);
                }
                ratios[i] = generated / hand;
            }
            Array.Sort(ratios);
            return pairs % 2 == 1 ? ratios[pairs / 2] : (ratios[pairs / 2 - 1] + ratios[pairs / 2]) / 2;
        }
        finally
        {
            benchmark.Cleanup();
        }

        static double Time(Action step)
        {
            var clock = Stopwatch.StartNew();
            step();
            return clock.Elapsed.TotalSeconds;
        }
    }

    /// <summary>Adds the paired-ratio column.</summary>
    private sealed class PairedRatioConfig : ManualConfig
    {
        public PairedRatioConfig() => AddColumn(new PairedRatioColumn());
    }

    /// <summary>Generated / hand-written step time from 60 alternating pairs run in the host process, shown on the Generated rows.</summary>
    private sealed class PairedRatioColumn : IColumn
    {
        private const int Pairs = 60;
        private static readonly Dictionary<string, double> Cache = new();

        public string Id => "PairedRatio";
        public string ColumnName => "Paired ratio";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => $"Median of Generated/HandWritten over {Pairs} adjacent, alternating step pairs (host process)";

        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            if (benchmarkCase.Descriptor.WorkloadMethod.Name != nameof(Generated))
                return "-";
            var unit = (string)benchmarkCase.Parameters[nameof(Unit)];
            if (!Cache.TryGetValue(unit, out var ratio))
                Cache[unit] = ratio = PairedRatio(unit, Pairs);
            return ratio.ToString("0.000", CultureInfo.InvariantCulture);
        }
    }
}
