using System;
using System.Globalization;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Memory;
using ModelGen.Specs;
using ModelGen.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.MemoryCheck;

/// <summary>The tensor-parallel probe in bf16, planned at TP 2: trained by the generated CreateTraining with fp32 master weights.</summary>
[Model(typeof(ProbeConfig)), Precision(DType.BFloat16)]
[ParallelPlan(TensorParallel = 2)]
public partial class TensorParallelBf16Probe
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

/// <summary>The tensor-parallel block with the fused attention kernel (no s² probabilities kept), for the bf16 comparison row.</summary>
[Layer(typeof(ProbeConfig))]
public partial class TensorParallelFusedBlock
{
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial nn.Module<Tensor, Tensor> Ln1 { get; }
    [Attention(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Heads), Fused = true, Bias = true), Shard(ShardStyle.Column)] public partial nn.Module<Tensor, Tensor> Attn { get; }
    [LayerNorm(nameof(ProbeConfig.Hidden))] public partial nn.Module<Tensor, Tensor> Ln2 { get; }
    [FeedForward(nameof(ProbeConfig.Hidden), nameof(ProbeConfig.Ffn)), Shard(ShardStyle.Column)] public partial nn.Module<Tensor, Tensor> Mlp { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + Attn.call(Ln1.call(x));
        return x + Mlp.call(Ln2.call(x));
    }
}

/// <summary>The bf16 plan of <see cref="TensorParallelBf16Probe"/> with fused attention: the row without the eager core's softmax.</summary>
[Model(typeof(ProbeConfig)), Precision(DType.BFloat16)]
[ParallelPlan(TensorParallel = 2)]
public partial class TensorParallelBf16FusedProbe
{
    [Embedding(nameof(ProbeConfig.Vocab), nameof(ProbeConfig.Hidden)), Shard(ShardStyle.Vocab)] public partial nn.Module<Tensor, Tensor> Embed { get; }
    [Stack(nameof(ProbeConfig.Layers))] public partial TorchSharp.Modules.ModuleList<TensorParallelFusedBlock> Blocks { get; }
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

/// <summary>The tensor-parallel probe (fp32) planned at TP 2 with a loss of its own: the head gathers all V logits on every rank.</summary>
[Model(typeof(ProbeConfig))]
[ParallelPlan(TensorParallel = 2, GatheredLogits = true)]
public partial class TensorParallelGatheredProbe
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
/// Per-rank rows under <c>mpirun -np 2</c> for plans trained through the generated <c>CreateTraining</c>: tp2-bf16 (bf16 weights,
/// fp32 master weights and main gradients per shard, the vocab-parallel loss) and tp2-gathered (fp32, <c>GatheredLogits = true</c>,
/// the caller's cross-entropy on all V logits gathered on every rank), against <c>MemoryModel.Estimate</c> of the plan's scenario;
/// tp2-bf16-fused is tp2-bf16 with the fused attention kernel (no eager core), to separate the core's share of the bf16 excess.
/// tp2-gathered also prints what the estimate is without the opt-in, which is what a given loss would have run unaccounted.
/// </summary>
internal static class TensorParallelPlanCheck
{
    /// <summary>The modes, each run on 2 ranks.</summary>
    public static readonly string[] Modes = { "tp2-bf16", "tp2-bf16-fused", "tp2-gathered" };

    /// <summary>The bf16 probe whole in one process (no tensor parallelism), as tp2-bf16 trains it: the same precision without the split.</summary>
    public const string WholeMode = "bf16-whole";

    /// <summary>One process: <see cref="TensorParallelBf16Probe"/> built whole, fp32 masters, the fp32 cross-entropy of all V logits.</summary>
    public static void RunWhole(int seq, int batch, int steps)
    {
        HeapSettings.Apply();
        var config = new ProbeConfig();
        var estimate = MemoryModel.Estimate(TensorParallelBf16Probe.DescribeModel(config), new ScenarioSpec(0, Workload.Training, seq, batch, Optimizer.AdamW), DeviceProfile.Cpu);
        void Fit(int count)
        {
            using var model = new TensorParallelBf16Probe(config);
            using var optimizer = new Optimizers.AdamW(model.parameters(), learningRate: 1e-4);
            manual_seed(0);
            for (var step = 0; step < count; step++)
            {
                using var scope = NewDisposeScope();
                var tokens = randint(0, config.Vocab, new long[] { batch, seq + 1 });
                // The documented call: CrossEntropyFp32 takes the bf16 logits and frees its fp32 copy once read (a copy made here
                // would stay in this step's scope through backward, as PlanTraining's did).
                var loss = Precision.CrossEntropyFp32(model.call(tokens[.., ..seq]).reshape(-1, config.Vocab), tokens[.., 1..].reshape(-1));
                BackwardFailures.Backward(loss);
                optimizer.Step();
            }
        }
        var measured = CheckRow.PeakAbove(() => Fit(1), () => Fit(steps));
        Console.WriteLine(CheckRow.Format(WholeMode, estimate, measured, decimals: 0));
    }

    public static void Run(string mode, int seq, int batch, int steps)
    {
        HeapSettings.Apply();
        var world = World.Initialize();
        var config = new ProbeConfig();
        var gathered = mode == "tp2-gathered";
        var spec = gathered ? TensorParallelGatheredProbe.DescribeModel(config)
            : mode == "tp2-bf16-fused" ? TensorParallelBf16FusedProbe.DescribeModel(config) : TensorParallelBf16Probe.DescribeModel(config);
        var scenario = new ScenarioSpec(0, Workload.Training, seq, batch, Optimizer.AdamW) { TensorParallel = world.Size, GatheredLogits = gathered };
        var estimate = MemoryModel.Estimate(spec, scenario, DeviceProfile.Cpu);

        // As the other rows: a full-size warm-up run with throwaway instances, then the baseline once every rank has warmed up.
        var measured = CheckRow.PeakAbove(() => Train(world, mode, config, seq, batch, 1), () => Train(world, mode, config, seq, batch, steps), world.Barrier);

        const double MiB = 1 << 20;
        var note = gathered
            ? string.Create(CultureInfo.InvariantCulture,
                $"; without GatheredLogits {MemoryModel.Estimate(spec, scenario with { GatheredLogits = false }, DeviceProfile.Cpu).PeakBytes / MiB:F0}")
            : "";
        Console.WriteLine(CheckRow.Format($"{mode} rank {world.Rank}", estimate, measured, decimals: 0, note));
    }

    private static void Train(ProcessGroup world, string mode, ProbeConfig config, int seq, int batch, int steps)
    {
        var vocab = config.Vocab;
        static Optimizers.TrainingOptimizer Adam(System.Collections.Generic.IEnumerable<TorchSharp.Modules.Parameter> parameters, Optimizers.OptimizerSettings settings) =>
            new Optimizers.AdamW(parameters, learningRate: 1e-4, settings: settings);
        using var training = mode switch
        {
            "tp2-gathered" => TensorParallelGatheredProbe.CreateTraining(config, world, Adam,
                (output, target) => Precision.CrossEntropyFp32(output.reshape(-1, vocab), target.reshape(-1)), seed: 1),
            "tp2-bf16-fused" => TensorParallelBf16FusedProbe.CreateTraining(config, world, Adam, seed: 1),
            _ => TensorParallelBf16Probe.CreateTraining(config, world, Adam, seed: 1),
        };
        // A second argument "trace": rank 0 prints the resident set above the baseline (and the peak since the last line) after set-up
        // and each step; the row's measured peak is then rank 1's alone.
        var trace = Environment.GetCommandLineArgs().Contains("trace") && world.Rank == 0 && steps > 1;
        var origin = ResidentMemory.Current; // the baseline, read just before
        void Mark(string what)
        {
            if (trace)
                CheckRow.Trace(what, origin);
        }
        Mark("set-up");
        manual_seed(0); // the same tokens on every rank of the group
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var tokens = randint(0, vocab, new long[] { batch, seq + 1 });
            training.Step(tokens[.., ..seq], tokens[.., 1..]);
            Mark($"step {step}");
        }
        training.Dispose();
        training.Model.Dispose();
    }
}
