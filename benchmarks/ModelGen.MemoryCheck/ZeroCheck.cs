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

/// <summary>
/// Per-rank rows under <c>mpirun -np 2</c> for the engines the generated <c>CreateTraining</c> runs, each through
/// <see cref="PlanTraining"/> (what the generated factory calls): ZeRO stage 3 (the checkpointed probe, and the plain one: the
/// engine recomputes each layer in backward either way, and the memory model counts both so), ZeRO-2 with the optimizer offloaded, and plain data
/// parallelism (DDP's gradient buckets). On the CPU the "device" and the host are the same memory: the resident set measures both,
/// so an offload row compares with the model's device peak plus its host bytes.
/// </summary>
internal static class ZeroCheck
{
    /// <summary>The configurations, each run on 2 ranks.</summary>
    public static readonly string[] Modes = ["zero3-dp2", "zero3-plain-dp2", "zero3-offload-dp2", "offload-dp2", "ddp-dp2"];

    /// <summary>Runs <paramref name="mode"/> when it is one of <see cref="Modes"/>; false otherwise.</summary>
    public static bool TryRun(string mode, int seq, int batch, int steps)
    {
        if (!Modes.Contains(mode))
            return false;
        HeapSettings.Apply();
        var (probe, plan) = mode switch
        {
            "zero3-dp2" => ("checkpointed", new TrainingPlan(DataParallel: 2, ZeroStage: 3)),
            // No [Checkpoint] declared: the engine recomputes every layer anyway, and the memory model counts it so (ZeroThreeRecompute).
            "zero3-plain-dp2" => ("plain", new TrainingPlan(DataParallel: 2, ZeroStage: 3)),
            "zero3-offload-dp2" => ("checkpointed", new TrainingPlan(DataParallel: 2, ZeroStage: 3, OffloadOptimizer: true, OffloadParameters: true)),
            "offload-dp2" => ("plain", new TrainingPlan(DataParallel: 2, ZeroStage: 2, OffloadOptimizer: true)),
            _ => ("plain", new TrainingPlan(DataParallel: 2)),
        };
        var world = World.Initialize();
        var config = new ProbeConfig();
        var spec = probe == "plain" ? PlainProbe.DescribeModel(config) : CheckpointedProbe.DescribeModel(config);
        var scenario = new ScenarioSpec(0, Workload.Training, seq, batch, Optimizer.AdamW)
        {
            DataParallel = plan.DataParallel, ZeroStage = plan.ZeroStage, OffloadOptimizer = plan.OffloadOptimizer, OffloadParameters = plan.OffloadParameters,
        };
        var estimate = MemoryModel.Estimate(spec, scenario, DeviceProfile.Cpu);
        var host = plan.OffloadOptimizer || plan.OffloadParameters ? estimate.HostBytes : 0;
        // On the CPU the resident set is device + host at once. The host holds the optimizer state (and offloaded partitions) all
        // step, but the fp32 main gradients of the rank's partition and AdamW's one-parameter denominator only in the optimizer
        // step (ModelStates: Partition(4 · elements) + step temporaries), so each phase's device peak is paired with its own host bytes.
        var ranks = plan.DataParallel;
        var largest = PlainProbeLargestTensor(config);
        var hostStepOnly = plan.OffloadOptimizer
            ? (4 * ((estimate.TrainableParameterCount + ranks - 1) / ranks)) + (4 * Math.Min(largest, (estimate.TrainableParameterCount + ranks - 1) / ranks))
            : 0;
        var predicted = host == 0 ? estimate.PeakBytes
            : estimate.Phases.Max(p => p.PeakBytes + (p.Phase == MemoryPhases.OptimizerStep ? host : host - hostStepOnly));
        var peakPhase = host == 0 ? estimate.PeakPhase
            : estimate.Phases.MaxBy(p => p.PeakBytes + (p.Phase == MemoryPhases.OptimizerStep ? host : host - hostStepOnly))!.Phase;

        // As the single-process rows: a full-size warm-up run with throwaway instances, then the baseline.
        var measured = CheckRow.PeakAbove(() => Train(world, plan, probe, config, seq, batch, 1), () => Train(world, plan, probe, config, seq, batch, steps), world.Barrier);

        const double MiB = 1 << 20;
        var terms = string.Join(", ", estimate.Terms.Where(t => t.Bytes > 0).Select(t => $"{t.Name} {t.Bytes / MiB:F0}"))
            + (host > 0 ? $"; host {host / MiB:F0} ({(host - hostStepOnly) / MiB:F0} outside the optimizer step)" : "");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {mode} rank {world.Rank} | {predicted / MiB:F0} | {measured / MiB:F0} | {(double)measured / predicted:F3} | {peakPhase} | {terms} |"));
        return true;
    }

    /// <summary>The probes' largest parameter (embedding and head: vocabulary × hidden), for the optimizer step's temporary.</summary>
    private static long PlainProbeLargestTensor(ProbeConfig config) => (long)config.Vocab * config.Hidden;

    /// <summary>Next-token training of a fresh probe through <see cref="PlanTraining"/>; everything is freed at the end.</summary>
    private static void Train(ProcessGroup world, TrainingPlan plan, string probe, ProbeConfig config, int seq, int batch, int steps)
    {
        var vocab = config.Vocab;
        // A second argument "trace": rank 0 prints the resident set (and the peak since the last line) after the forward and after each step.
        var trace = Environment.GetCommandLineArgs().Contains("trace") && world.Rank == 0 && steps > 1;
        var origin = ResidentMemory.Current;
        void Mark(string what)
        {
            if (trace)
                CheckRow.Trace(what, origin);
        }
        using var training = new PlanTraining(plan, world,
            _ => probe == "plain" ? new PlainProbe(config) : new CheckpointedProbe(config),
            (parameters, settings) => new ModelGen.Optimizers.AdamW(parameters, learningRate: 1e-4, settings: settings),
            (output, target) =>
            {
                Mark("forward");
                var loss = Precision.CrossEntropyFp32(output.reshape(-1, vocab), target.reshape(-1));
                Mark("loss");
                return loss;
            });
        Mark("set-up");
        manual_seed(world.Rank);
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var tokens = randint(0, vocab, [batch, seq + 1]);
            training.Step(tokens[.., ..seq], tokens[.., 1..]);
            Mark($"step {step} (backward, step)");
        }
        training.Dispose();
        training.Model.Dispose();
    }
}
