using System;
using System.Globalization;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Parallel;
using ModelGen.Specs;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.MemoryCheck;

/// <summary>The plain probe's GPT block with its attention and MLP sharded, declared as modules so the generator splits them.</summary>
[Layer(typeof(ProbeConfig))]
public partial class TensorParallelBlock
{
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial nn.Module<Tensor, Tensor> Ln1 { get; }
    [Attention(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Heads), Fused = false, Bias = true), Shard(ShardStyle.Column)] public partial nn.Module<Tensor, Tensor> Attn { get; }
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial nn.Module<Tensor, Tensor> Ln2 { get; }
    [FeedForward(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Ffn)), Shard(ShardStyle.Column)] public partial nn.Module<Tensor, Tensor> Mlp { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(Ln1.call(x));
        return x + Mlp.call(Ln2.call(x));
    }
}

/// <summary>The plain probe sharded: vocab-parallel embedding, sharded blocks, column-parallel head.</summary>
[Model(typeof(ProbeConfig))]
public partial class TensorParallelProbe
{
    [Embedding(nameof(ProbeConfig.Vocab), nameof(ProbeConfig.Hidden)), Shard(ShardStyle.Vocab)] public partial nn.Module<Tensor, Tensor> Embed { get; }
    [Stack(nameof(ProbeConfig.Layers))] public partial TorchSharp.Modules.ModuleList<TensorParallelBlock> Blocks { get; }
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial nn.Module<Tensor, Tensor> Norm { get; }
    [Linear(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Vocab), Bias = false), Shard(ShardStyle.Column)] public partial nn.Module<Tensor, Tensor> Head { get; }

    private Tensor Forward(Tensor tokens)
    {
        var x = Embed.call(tokens);
        foreach (var block in Blocks)
            x = block.call(x);
        return Head.call(Norm.call(x));
    }
}

/// <summary>
/// Per-rank rows under <c>mpirun -np 2</c>: the generated <see cref="TensorParallelProbe"/> at tensor-parallel degree 2 (tp2) and
/// with sequence parallelism (tp2-sp), trained as the single-process probes are (warm-up step, baseline, three measured steps,
/// ModelGen's AdamW over this rank's shards), with the vocab-parallel cross-entropy on this rank's V/t logits
/// (<see cref="TensorParallelOptions.VocabParallelLogits"/>), against <c>MemoryModel.Estimate</c> at TensorParallel = 2.
/// </summary>
internal static class TensorParallelCheck
{
    /// <summary>The modes, each run on 2 ranks.</summary>
    public static readonly string[] Modes = { "tp2", "tp2-sp" };

    public static void Run(string mode, int seq, int batch, int steps, bool trace = false)
    {
        HeapSettings.Apply();
        var world = Distributed.World.Initialize();
        var config = new ProbeConfig();
        var sequenceParallel = mode == "tp2-sp";
        var scenario = new ScenarioSpec(0, Workload.Training, seq, batch, Optimizer.AdamW) { TensorParallel = world.Size, SequenceParallel = sequenceParallel };
        var estimate = MemoryModel.Estimate(TensorParallelProbe.DescribeModel(config), scenario, DeviceProfile.Cpu);
        var options = new TensorParallelOptions(world, sequenceParallel, seed: 1) { VocabParallelLogits = true };
        var measured = Measure(() => new TensorParallelProbe(config, tensorParallel: options), options, config, batch, seq, steps, trace && world.Rank == 0);

        const double MiB = 1 << 20;
        if (trace && world.Rank == 0)
            foreach (var phase in estimate.Phases)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  predicted {phase.Phase,-14} {phase.PeakBytes / MiB,8:F1} MiB: {string.Join(", ", phase.Terms.Where(t => t.Bytes > 0).Select(t => $"{t.Name} {t.Bytes / MiB:F1}"))}"));
        Console.WriteLine(CheckRow.Format($"{mode} rank {world.Rank}", estimate, measured, decimals: 0));
    }

    /// <summary>
    /// One rank's peak resident bytes above its baseline while a fresh model trains <paramref name="steps"/> steps: a throwaway
    /// model trains one step first (warm-up), then the baseline is taken, the measured model built (<paramref name="built"/> sees
    /// it) and trained. Shared by the tensor-parallel probes (tp2, tp2-sp, tp2-quantized).
    /// </summary>
    internal static long Measure(Func<nn.Module<Tensor, Tensor>> build, TensorParallelOptions options, ProbeConfig config, int batch, int seq, int steps,
        bool trace, Action<nn.Module<Tensor, Tensor>>? built = null)
    {
        return CheckRow.PeakAbove(() => Train(build(), options, config.Vocab, batch, seq, 1, false), () =>
        {
            var origin = ResidentMemory.Current;
            var model = build();
            if (trace)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  model built              rss {(ResidentMemory.Current - origin) / (double)(1 << 20),8:F1}  peak {(ResidentMemory.Peak - origin) / (double)(1 << 20),8:F1} MiB (parameters {model.parameters().Sum(p => p.numel() * p.element_size()) / (double)(1 << 20):F1} MiB)"));
            built?.Invoke(model);
            Train(model, options, config.Vocab, batch, seq, steps, trace);
        });
    }

    // Trains the rank's trainable parameters (a quantized probe's slices are frozen) on the vocab-parallel loss, then disposes the model.
    private static void Train(nn.Module<Tensor, Tensor> model, TensorParallelOptions options, int vocab, int batch, int seq, int steps, bool trace)
    {
        var origin = ResidentMemory.Current;
        void Mark(string what)
        {
            if (trace)
                CheckRow.Trace(what, origin);
        }
        manual_seed(0); // the same tokens on every rank of the group
        using var optimizer = new Optimizers.AdamW(model.parameters().Where(p => p.requires_grad), learningRate: 1e-4);
        var start = options.Rank * (vocab / options.Degree);
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var tokens = randint(0, vocab, new long[] { batch, seq + 1 });
            Mark($"step {step} start");
            var logits = model.call(tokens[.., ..seq]);
            Mark("forward");
            var loss = VocabParallelCrossEntropy.Loss(logits, tokens[.., 1..], start, options.Group).mean();
            Mark("loss");
            BackwardFailures.Backward(loss);
            Mark("backward");
            optimizer.Step();
            Mark("optimizer step");
        }
        model.Dispose();
    }
}
