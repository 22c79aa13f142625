using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using ModelGen.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Training.Worker
{
    /// <summary>
    /// The <c>plan</c> case: <see cref="PlanTraining"/> on every data-parallel plan it runs (DDP, ZeRO 1, ZeRO 2 with optimizer
    /// offload), 2 micro-batches per step, against plain AdamW on the whole batch in one process: same losses, same weights; every
    /// rank's progress reports count the steps and this rank's tokens. A plan for another world size is refused by the grid.
    /// </summary>
    internal static class PlanCase
    {
        private const int Steps = 4;
        private const int RowsPerRank = 4;

        public static void Run(ProcessGroup world, Checks checks)
        {
            var rows = RowsPerRank * world.Size;
            var expected = new WorkerModel(5);
            var expectedLosses = new List<double>();
            using (var reference = new AdamW(expected.parameters(), learningRate: 0.01, weightDecay: 0.1))
                for (var s = 0; s < Steps; s++) {
                    using var scope = NewDisposeScope();
                    var (input, target) = WorkerModel.Batch(s, rows);
                    var loss = WorkerModel.Loss(expected, input, target);
                    expectedLosses.Add(loss.item<float>());
                    loss.backward();
                    reference.Step();
                }

            foreach (var plan in new[] {
                new TrainingPlan(DataParallel: world.Size),
                new TrainingPlan(DataParallel: world.Size, ZeroStage: 1),
                new TrainingPlan(DataParallel: world.Size, ZeroStage: 2, OffloadOptimizer: true) }) {
                var reports = new List<TrainingProgress>();
                var progress = new Progress(reports.Add);
                WorkerModel? model = null;
                using var training = new PlanTraining(plan, world, _ => model = new WorkerModel(5),
                    (parameters, settings) => new AdamW(parameters, learningRate: 0.01, weightDecay: 0.1, settings: settings),
                    (output, target) => (output - target).pow(2).mean(), microBatches: 2, progress: progress, totalSteps: Steps);
                for (var s = 0; s < Steps; s++) {
                    using var scope = NewDisposeScope();
                    var (input, target) = WorkerModel.Batch(s, rows);
                    var mine = (input.narrow(0, RowsPerRank * world.Rank, RowsPerRank), target.narrow(0, RowsPerRank * world.Rank, RowsPerRank));
                    var loss = training.Step(mine.Item1, mine.Item2);
                    checks.True(Math.Abs(loss - expectedLosses[s]) <= 1e-5 * Math.Max(1, Math.Abs(expectedLosses[s])),
                        $"{plan}: step {s} loss {loss} equals one process on the whole batch ({expectedLosses[s]})");
                }
                foreach (var ((name, e), (_, a)) in expected.named_parameters().Zip(model!.named_parameters()))
                    checks.Within(e.detach(), a.detach(), e.detach().abs() * 2e-6 + 2e-6, $"{plan}: {name} after {Steps} steps");
                checks.True(reports.Count == Steps && reports[^1].Step == Steps && reports[^1].Tokens == Steps * RowsPerRank * 6L && reports[^1].Rank == world.Rank,
                    $"{plan}: {reports.Count} progress reports, the last at step {reports.LastOrDefault()?.Step} with {reports.LastOrDefault()?.Tokens} tokens");
            }

            try {
                using var wrong = new PlanTraining(new TrainingPlan(TensorParallel: 2, DataParallel: world.Size), world, _ => new WorkerModel(5),
                    (parameters, settings) => new AdamW(parameters, settings: settings), (o, t) => o.sum(), progress: null);
                checks.True(false, "a plan for twice the world's ranks was accepted");
            } catch (InvalidOperationException e) {
                checks.True(e.Message.Contains($"mpirun -np {2 * world.Size}", StringComparison.Ordinal), $"the wrong world's message names the launch: {e.Message}");
            }
        }

        /// <summary>
        /// The generated <c>CreateTraining</c> of <c>PlannedModel</c> (2 data-parallel ranks, ZeRO 1), <c>PlannedZero3Model</c> (ZeRO 3:
        /// its generated blocks route through the ZeRO-3 engine) and <c>PlannedOffloadModel</c> (ZeRO 3 with parameters and optimizer
        /// on the host), each against the same generated model trained in one process on the whole batch, from the same weights.
        /// </summary>
        public static void RunGenerated(ProcessGroup world, Checks checks)
        {
            var config = new PlannedConfig();
            checks.True(PlannedModel.TrainingPlan == new TrainingPlan(DataParallel: 2, ZeroStage: 1), $"the generated plan is {PlannedModel.TrainingPlan}");
            checks.True(PlannedOffloadModel.TrainingPlan == new TrainingPlan(DataParallel: 2, ZeroStage: 3, OffloadOptimizer: true, OffloadParameters: true),
                $"the generated offload plan is {PlannedOffloadModel.TrainingPlan}");
            Generated(world, checks, "ZeRO 1", () => new PlannedModel(config), (o, l) => PlannedModel.CreateTraining(config, world, o, l, microBatches: 2));
            Generated(world, checks, "ZeRO 3", () => new PlannedZero3Model(config), (o, l) => PlannedZero3Model.CreateTraining(config, world, o, l, microBatches: 2));
            Generated(world, checks, "ZeRO 3 offload", () => new PlannedOffloadModel(config), (o, l) => PlannedOffloadModel.CreateTraining(config, world, o, l, microBatches: 2));
        }

        /// <summary>
        /// The generated <c>CreateTraining</c> of <c>PlannedMaskedModel</c> (ZeRO 3 over 2 ranks; its stacked layers take a mask and an
        /// optional shift beside the hidden state): 5 AdamW steps equal plain AdamW on the whole batch in one process, and each
        /// micro-batch gathers every layer twice (forward, backward) plus the rest once, so the layers were routed, not gathered whole.
        /// </summary>
        public static void RunMultiInput(ProcessGroup world, Checks checks)
        {
            var config = new PlannedConfig();
            checks.True(PlannedMaskedModel.TrainingPlan == new TrainingPlan(DataParallel: 2, ZeroStage: 3), $"the generated plan is {PlannedMaskedModel.TrainingPlan}");
            Generated(world, checks, "ZeRO 3 multi-input", () => new PlannedMaskedModel(config),
                (o, l) => PlannedMaskedModel.CreateTraining(config, world, o, l, microBatches: 2), steps: 5,
                zero => checks.True(zero.LastStep is { Gathers: var gathers } && gathers == 2 * config.Layers + 1,
                    $"generated ZeRO 3 multi-input: {zero.LastStep} in the last micro-batch, {2 * config.Layers + 1} expected (each layer routed)"));
        }

        private static void Generated(ProcessGroup world, Checks checks, string name, Func<nn.Module<Tensor, Tensor>> build,
            Func<Func<IEnumerable<TorchSharp.Modules.Parameter>, OptimizerSettings, TrainingOptimizer>, Func<Tensor, Tensor, Tensor>, PlanTraining> create,
            int steps = Steps, Action<ZeroStage3>? checkZero = null)
        {
            var hidden = new PlannedConfig().Hidden;
            var rows = RowsPerRank * world.Size;
            manual_seed(3); // every rank starts from the same weights
            var expected = build();
            var initial = expected.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
            Tensor Mse(Tensor output, Tensor target) => (output - target).pow(2).mean();
            var expectedLosses = new List<double>();
            using (var reference = new AdamW(expected.parameters(), learningRate: 0.01))
                for (var s = 0; s < steps; s++) {
                    using var scope = NewDisposeScope();
                    var (input, target) = (WorkerModel.Draw(3000 + s, rows, hidden), WorkerModel.Draw(4000 + s, rows, hidden));
                    var loss = Mse(expected.call(input), target);
                    expectedLosses.Add(loss.item<float>());
                    loss.backward();
                    reference.Step();
                }

            using var training = create((parameters, settings) => new AdamW(parameters, learningRate: 0.01, settings: settings), Mse);
            if (training.Zero is { } zero) {
                zero.LoadParameters(initial);
            } else {
                using (no_grad())
                    foreach (var (key, value) in training.Model.state_dict())
                        value.copy_(initial[key]);
            }
            for (var s = 0; s < steps; s++) {
                using var scope = NewDisposeScope();
                var (input, target) = (WorkerModel.Draw(3000 + s, rows, hidden), WorkerModel.Draw(4000 + s, rows, hidden));
                var loss = training.Step(input.narrow(0, RowsPerRank * world.Rank, RowsPerRank), target.narrow(0, RowsPerRank * world.Rank, RowsPerRank));
                checks.True(Math.Abs(loss - expectedLosses[s]) <= 1e-5 * Math.Max(1, Math.Abs(expectedLosses[s])),
                    $"generated {name}: step {s} loss {loss} equals one process on the whole batch ({expectedLosses[s]})");
            }
            if (training.Zero is not null)
                checks.True(training.Model.parameters().All(p => p.numel() == 0) && training.Zero.Partitions.Sum(p => p.numel()) * world.Size <= expected.parameters().Sum(p => p.numel()) + 2 * world.Size,
                    $"generated {name}: between steps the model holds no weights and this rank about 1/{world.Size} of them");
            if (training.Zero is { } engine)
                checkZero?.Invoke(engine);
            training.Zero?.GatherAll();
            foreach (var ((key, e), (_, a)) in expected.named_parameters().Zip(training.Model.named_parameters()))
                checks.Within(e.detach(), a.detach(), e.detach().abs() * 2e-6 + 2e-6, $"generated {name}: {key} after {steps} steps");
            training.Zero?.ReleaseAll();
        }

        /// <summary>Reports synchronously (System.Progress posts to the thread pool, so the count would race).</summary>
        private sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
        {
            public void Report(TrainingProgress value) => report(value);
        }
    }
}
