using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using ModelGen.Memory;
using ModelGen.Optimizers;
using ModelGen.Specs;
using ModelGen.Training;
using TorchSharp;
using ModuleList = TorchSharp.Modules.ModuleList<ModelGen.Parallel.Worker.TpLlamaBlock>;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>;

namespace ModelGen.Parallel.Worker
{
    /// <summary>The tiny Llama in bf16, planned as TP 2 × DP 2 with ZeRO 1 and sequence parallelism.</summary>
    [Model(typeof(TpConfig)), Precision(DType.BFloat16)]
    [ParallelPlan(TensorParallel = 2, DataParallel = 2, ZeroStage = 1, SequenceParallel = true)]
    public partial class TpBf16Zero1Llama
    {
        [Embedding(nameof(TpConfig.Vocab), nameof(TpConfig.Hidden)), Shard(ShardStyle.Vocab)] public partial Module Embed { get; }
        [Stack(nameof(TpConfig.Layers))] public partial ModuleList Layers { get; }
        [RmsNorm(nameof(TpConfig.Hidden))] public partial Module Norm { get; }
        [Linear(nameof(TpConfig.Hidden), nameof(TpConfig.Vocab), Bias = false), Shard(ShardStyle.Column)] public partial Module Head { get; }

        private Tensor Forward(Tensor tokens)
        {
            var x = Embed.call(tokens);
            foreach (var layer in Layers)
                x = layer.call(x);
            return Head.call(Norm.call(x));
        }
    }

    /// <summary>The tiny Llama in bf16, planned as TP 2 × DP 2 with ZeRO 3 and sequence parallelism.</summary>
    [Model(typeof(TpConfig)), Precision(DType.BFloat16)]
    [ParallelPlan(TensorParallel = 2, DataParallel = 2, ZeroStage = 3, SequenceParallel = true)]
    public partial class TpBf16Zero3Llama
    {
        [Embedding(nameof(TpConfig.Vocab), nameof(TpConfig.Hidden)), Shard(ShardStyle.Vocab)] public partial Module Embed { get; }
        [Stack(nameof(TpConfig.Layers))] public partial ModuleList Layers { get; }
        [RmsNorm(nameof(TpConfig.Hidden))] public partial Module Norm { get; }
        [Linear(nameof(TpConfig.Hidden), nameof(TpConfig.Vocab), Bias = false), Shard(ShardStyle.Column)] public partial Module Head { get; }

        private Tensor Forward(Tensor tokens)
        {
            var x = Embed.call(tokens);
            foreach (var layer in Layers)
                x = layer.call(x);
            return Head.call(Norm.call(x));
        }
    }

    /// <summary>The tiny Llama in fp16 (trained with loss scaling), planned as TP 2 × DP 2 with ZeRO 1 and sequence parallelism.</summary>
    [Model(typeof(TpConfig)), Precision(DType.Float16)]
    [ParallelPlan(TensorParallel = 2, DataParallel = 2, ZeroStage = 1, SequenceParallel = true)]
    public partial class TpFp16Zero1Llama
    {
        [Embedding(nameof(TpConfig.Vocab), nameof(TpConfig.Hidden)), Shard(ShardStyle.Vocab)] public partial Module Embed { get; }
        [Stack(nameof(TpConfig.Layers))] public partial ModuleList Layers { get; }
        [RmsNorm(nameof(TpConfig.Hidden))] public partial Module Norm { get; }
        [Linear(nameof(TpConfig.Hidden), nameof(TpConfig.Vocab), Bias = false), Shard(ShardStyle.Column)] public partial Module Head { get; }

        private Tensor Forward(Tensor tokens)
        {
            var x = Embed.call(tokens);
            foreach (var layer in Layers)
                x = layer.call(x);
            return Head.call(Norm.call(x));
        }
    }

    /// <summary>The tiny Llama in fp16 (trained with loss scaling), planned as TP 2 × DP 2 with ZeRO 3 and sequence parallelism.</summary>
    [Model(typeof(TpConfig)), Precision(DType.Float16)]
    [ParallelPlan(TensorParallel = 2, DataParallel = 2, ZeroStage = 3, SequenceParallel = true)]
    public partial class TpFp16Zero3Llama
    {
        [Embedding(nameof(TpConfig.Vocab), nameof(TpConfig.Hidden)), Shard(ShardStyle.Vocab)] public partial Module Embed { get; }
        [Stack(nameof(TpConfig.Layers))] public partial ModuleList Layers { get; }
        [RmsNorm(nameof(TpConfig.Hidden))] public partial Module Norm { get; }
        [Linear(nameof(TpConfig.Hidden), nameof(TpConfig.Vocab), Bias = false), Shard(ShardStyle.Column)] public partial Module Head { get; }

        private Tensor Forward(Tensor tokens)
        {
            var x = Embed.call(tokens);
            foreach (var layer in Layers)
                x = layer.call(x);
            return Head.call(Norm.call(x));
        }
    }

    /// <summary>
    /// The <c>generated-precision</c> case (4 ranks, TP 2 × DP 2): the generated <c>CreateTraining</c> of 16-bit plans, with ZeRO 1
    /// and ZeRO 3, both with sequence parallelism, on the vocab-parallel loss: bf16 weights with fp32 master weights, and fp16 with
    /// fp32 masters and a <see cref="LossScaler"/> passed to <c>CreateTraining</c>. Each trains <see cref="Steps"/> AdamW steps, each
    /// data-parallel rank on half of every batch; the losses and the final weights, gathered whole, equal one process training the same
    /// generated class whole, in the same precision with masters (and the same scaler), on the whole batch. The same plan trained
    /// without masters (<c>Fp32MasterWeights = false</c>) must fail the weight check. Each rank's optimizer state (moments and fp32
    /// masters of its ZeRO partition of its tensor-parallel shard) is what the memory model's optimizer term counts for the plan.
    /// </summary>
    internal static class GeneratedPrecisionCase
    {
        private const int Steps = 5, Rows = 4, Sequence = 8;

        /// <summary>
        /// How far apart the plan's and the single process's weights may end, as a share of how far training moved them (Σ|Δ| over
        /// Σ|moved|). Both runs round their gradients to 16 bits in a different summation order, and AdamW turns a near-zero
        /// gradient's rounding noise into an lr-sized step of either sign, so a few weights differ by up to 2·lr per step; summed over
        /// all weights it stays small, while a run without fp32 masters loses every update below half a rounding step of its weight.
        /// The measured values print with the loss curves; the bound lies between them (the same one as the master-weights case).
        /// </summary>
        private const double MaxDrift = 0.02;

        public static void Run(ProcessGroup world, Checks checks)
        {
            if (world.Size != 4)
            {
                checks.True(false, $"generated-precision needs 4 ranks (TP 2 × DP 2), not {world.Size}");
                return;
            }
            OverflowAgreement(world, checks);
            var config = new TpConfig();
            // lr: an update below half a rounding step of a weight near 1 (the RmsNorm weights) in the 16-bit type, so that without an
            // fp32 master it is lost, with one it accumulates (MasterWeightsCase).
            Train(world, checks, config, "bf16, fp32 masters (TP 2 × DP 2, ZeRO 1, SP)", ScalarType.BFloat16, 3e-3, Math.Pow(2, -7), 2e-2,
                (o, s) => TpBf16Zero1Llama.CreateTraining(config, world, o, seed: 5, lossScaler: s), () => new TpBf16Zero1Llama(config),
                TpBf16Zero1Llama.DescribeModel(config), TpBf16Zero1Llama.TrainingPlan);
            Train(world, checks, config, "bf16, fp32 masters (TP 2 × DP 2, ZeRO 3, SP)", ScalarType.BFloat16, 3e-3, Math.Pow(2, -7), 2e-2,
                (o, s) => TpBf16Zero3Llama.CreateTraining(config, world, o, seed: 5, lossScaler: s), () => new TpBf16Zero3Llama(config),
                TpBf16Zero3Llama.DescribeModel(config), TpBf16Zero3Llama.TrainingPlan);
            Train(world, checks, config, "fp16, fp32 masters, loss scaling (TP 2 × DP 2, ZeRO 1, SP)", ScalarType.Float16, 2e-4, Math.Pow(2, -10), 4e-3,
                (o, s) => TpFp16Zero1Llama.CreateTraining(config, world, o, seed: 5, lossScaler: s), () => new TpFp16Zero1Llama(config),
                TpFp16Zero1Llama.DescribeModel(config), TpFp16Zero1Llama.TrainingPlan);
            Train(world, checks, config, "fp16, fp32 masters, loss scaling (TP 2 × DP 2, ZeRO 3, SP)", ScalarType.Float16, 2e-4, Math.Pow(2, -10), 4e-3,
                (o, s) => TpFp16Zero3Llama.CreateTraining(config, world, o, seed: 5, lossScaler: s), () => new TpFp16Zero3Llama(config),
                TpFp16Zero3Llama.DescribeModel(config), TpFp16Zero3Llama.TrainingPlan);
        }

        /// <summary>
        /// An overflow in one tensor-parallel rank's slice (its gradient is inf, the other rank's finite) skips the step on both ranks
        /// and backs both scales off: the optimizer agrees over <see cref="OptimizerSettings.TensorParallel"/>. Without the agreement the
        /// finite rank would step alone and the slices would drift apart.
        /// </summary>
        private static void OverflowAgreement(ProcessGroup world, Checks checks)
        {
            using var grid = ParallelGrid.Create(world, 2, 2);
            var weight = new Parameter(ones(4, dtype: ScalarType.Float16));
            var scaler = new LossScaler(initialScale: 1024);
            using var optimizer = new AdamW(new[] { weight }, learningRate: 0.1,
                settings: new OptimizerSettings { DataParallel = grid.DataParallel, ZeroStage = 1, TensorParallel = grid.TensorParallel });
            weight.grad = grid.TensorParallelRank == 0 ? full(4, double.PositiveInfinity, dtype: ScalarType.Float16) : ones(4, dtype: ScalarType.Float16);
            var stepped = optimizer.Step(scaler);
            checks.True(!stepped && scaler.SkippedSteps == 1 && scaler.CurrentScale == 512,
                $"an overflow on tensor-parallel rank 0 only skips the step on rank {world.Rank} too (stepped {stepped}, scale {scaler.CurrentScale})");
            checks.True(weight.detach().eq(1).all().item<bool>(), $"rank {world.Rank}: the skipped step left the weights as they were");
        }

        private delegate PlanTraining Create(Func<IEnumerable<Parameter>, OptimizerSettings, TrainingOptimizer> optimizer, LossScaler? scaler);

        private static void Train(ProcessGroup world, Checks checks, TpConfig config, string what, ScalarType dtype, double learningRate,
            double ulp, double lossTolerance, Create create, Func<Module> whole, ModelSpec spec, TrainingPlan plan)
        {
            var fp16 = dtype == ScalarType.Float16;
            var (actual, trained, initial) = Fit(world, checks, config, what, dtype, learningRate, fp16, masters: true, create, spec, plan);

            using var reference = whole();
            reference.load_state_dict(initial, strict: false);
            checks.True(reference.parameters().All(p => p.dtype == dtype), $"{what}: the whole model is {dtype}");
            var start = reference.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
            var expected = FitWhole(reference, config, learningRate, fp16);

            checks.True(expected[^1] < expected[0], $"{what}: the reference learns: loss {expected[0]:F4} → {expected[^1]:F4}");
            for (var s = 0; s < Steps; s++)
                checks.True(Math.Abs(actual[s] - expected[s]) <= lossTolerance * Math.Max(1, Math.Abs(expected[s])),
                    $"{what}: step {s}: loss {actual[s]:F6}, single process {expected[s]:F6}");
            foreach (var (name, p) in reference.named_parameters().Where(p => trained.ContainsKey(p.name)))
                Compare.Close(checks, p, trained[name], $"{what}: {name} after {Steps} steps", atol: 2 * Steps * learningRate, rtol: ulp);
            foreach (var (name, _) in reference.named_parameters())
                checks.True(trained.ContainsKey(name), $"{what}: the gathered state holds {name}");
            var drift = Drift(reference, start, trained);
            checks.True(drift <= MaxDrift, $"{what}: weights differ from the single process by {drift:P2} of how far training moved them");

            // Control: the same plan without fp32 masters loses the small updates, and the drift check sees it.
            var (_, unmastered, _) = Fit(world, checks, config, what + " without masters", dtype, learningRate, fp16, masters: false, create, spec, plan);
            var controlDrift = Drift(reference, start, unmastered);
            checks.True(!(controlDrift <= MaxDrift),
                $"{what}: control without fp32 masters drifts {controlDrift:P1} (must exceed {MaxDrift:P0}; NaN counts: pure fp16 AdamW divides 0 by an eps that underflows)");
            if (world.Rank == 0)
                Console.WriteLine($"{what}: drift {drift:P2}, without masters {controlDrift:P2}; loss curve " +
                    string.Join(" ", actual.Select(l => l.ToString("F4", System.Globalization.CultureInfo.InvariantCulture))));
        }

        /// <summary>Trains the plan through the generated factory; returns the losses, the final whole weights and the initial ones.</summary>
        private static (double[] Losses, Dictionary<string, Tensor> Trained, Dictionary<string, Tensor> Initial) Fit(ProcessGroup world, Checks checks,
            TpConfig config, string what, ScalarType dtype, double learningRate, bool fp16, bool masters, Create create, ModelSpec spec, TrainingPlan plan)
        {
            var scaler = fp16 ? new LossScaler(initialScale: 1024) : null;
            using var training = create((parameters, settings) => new AdamW(parameters, learningRate: learningRate, weightDecay: 0.1,
                settings: settings with { Fp32MasterWeights = masters }), scaler);
            checks.True(training.LossScaler == scaler, $"{what}: CreateTraining passes the loss scaler to the plan's training");
            training.Zero?.GatherAll();
            checks.True(training.Model.parameters().All(p => p.dtype == dtype), $"{what}: every shard is {dtype}");
            training.Zero?.ReleaseAll();
            var initial = Gather(training);
            if (masters)
                CheckOptimizerState(world, checks, what, training, spec, plan);
            var grid = training.Grid;
            var rows = Rows / grid.DataParallelSize;
            var losses = new double[Steps];
            for (var s = 0; s < Steps; s++)
            {
                using var scope = NewDisposeScope();
                var (tokens, targets) = Batch(config, s);
                losses[s] = training.Step(tokens.narrow(0, rows * grid.DataParallelRank, rows), targets.narrow(0, rows * grid.DataParallelRank, rows));
            }
            // Pure fp16 AdamW (the control) overflows and skips steps; with masters no step may be skipped, as in the single process.
            if (scaler is not null && masters)
                checks.True(scaler.SkippedSteps == 0, $"{what}: no step overflowed at scale 1024 (skipped {scaler.SkippedSteps})");
            return (losses, Gather(training), initial);
        }

        /// <summary>One process, the whole generated model, the whole batch, ModelGen's AdamW with fp32 masters (and the same scaler).</summary>
        private static double[] FitWhole(Module reference, TpConfig config, double learningRate, bool fp16)
        {
            var scaler = fp16 ? new LossScaler(initialScale: 1024) : null;
            using var optimizer = new AdamW(reference.parameters(), learningRate: learningRate, weightDecay: 0.1,
                settings: new OptimizerSettings { Fp32MasterWeights = true });
            var losses = new double[Steps];
            for (var s = 0; s < Steps; s++)
            {
                using var scope = NewDisposeScope();
                var (tokens, targets) = Batch(config, s);
                var loss = nn.functional.cross_entropy(reference.call(tokens).to_type(ScalarType.Float32).reshape(-1, config.Vocab), targets.reshape(-1));
                BackwardFailures.Backward(scaler is null ? loss : scaler.Scale(loss));
                optimizer.Step(scaler);
                losses[s] = loss.item<float>();
            }
            return losses;
        }

        /// <summary>
        /// This rank's optimizer state, read from the checkpoint slices of its ZeRO partition (AdamW's two fp32 moments and the fp32
        /// master of every 16-bit element), against the memory model's optimizer term for the plan at this rank: masters per shard.
        /// </summary>
        private static void CheckOptimizerState(ProcessGroup world, Checks checks, string what, PlanTraining training, ModelSpec spec, TrainingPlan plan)
        {
            var slices = training.Zero is { } zero ? zero.ShardedState(training.Optimizer)
                : ShardedCheckpoint.ReplicatedState(training.Model, training.Grid.DataParallel, training.Optimizer);
            long Bytes(string kind) => slices.Where(s => s.Name.StartsWith(TrainingOptimizer.CheckpointPrefix + kind + ":", StringComparison.Ordinal))
                .Sum(s => s.Values.numel() * s.Values.element_size());
            var masters = Bytes("master");
            var held = masters + Bytes("exp_avg") + Bytes("exp_avg_sq");
            var scenario = new ScenarioSpec(80, Workload.Training, Sequence, Rows / plan.DataParallel, Optimizer.AdamW)
            {
                TensorParallel = plan.TensorParallel, DataParallel = plan.DataParallel, ZeroStage = plan.ZeroStage, SequenceParallel = plan.SequenceParallel,
            };
            var estimated = MemoryModel.Estimate(spec, scenario).Term(MemoryTerms.Optimizer);
            checks.True(masters > 0 && masters == Bytes("exp_avg"), $"{what}: rank {world.Rank} keeps an fp32 master of every element it steps ({masters} bytes)");
            // ZeRO's shares round per tensor on the rank and per total in the model: a few elements apart at most.
            checks.True(Math.Abs(held - estimated) <= 12 * 64, $"{what}: rank {world.Rank} holds {held} bytes of moments and masters, the memory model's optimizer term is {estimated}");
            if (world.Rank == 0)
                Console.WriteLine($"{what}: optimizer state per rank {held} bytes (masters {masters}), estimated {estimated}");
        }

        /// <summary>Σ|trained − reference| over Σ|reference − start|: how far apart the runs are, relative to how far training moved.</summary>
        private static double Drift(Module reference, IReadOnlyDictionary<string, Tensor> start, IReadOnlyDictionary<string, Tensor> trained)
        {
            double apart = 0, moved = 0;
            foreach (var (name, p) in reference.named_parameters())
            {
                var expected = p.detach().to_type(ScalarType.Float64);
                apart += (trained[name].to_type(ScalarType.Float64) - expected).abs().sum().item<double>();
                moved += (expected - start[name].to_type(ScalarType.Float64)).abs().sum().item<double>();
            }
            return apart / moved;
        }

        /// <summary>The whole model's state from the trained ranks (under ZeRO 3 the data-parallel partitions are gathered first).</summary>
        private static Dictionary<string, Tensor> Gather(PlanTraining training)
        {
            training.Zero?.GatherAll();
            var state = TensorParallelState.GatherFull(training.Model, training.Grid.TensorParallel);
            training.Zero?.ReleaseAll();
            return state;
        }

        private static (Tensor Tokens, Tensor Targets) Batch(TpConfig config, int step)
        {
            using var generator = new Generator((ulong)(4000 + step));
            var tokens = randint(config.Vocab, new long[] { Rows, Sequence }, generator: generator);
            return (tokens, (tokens + 1).remainder(config.Vocab));
        }
    }
}
