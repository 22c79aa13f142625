using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using ModelGen.Optimizers;
using ModelGen.Parallel;
using static TorchSharp.torch;

namespace ModelGen.Training.Worker
{
    /// <summary>
    /// The <c>tp-zero3</c> case on 4 ranks: the generated <c>CreateTraining</c> of <c>PlannedTpModel</c> (tensor-parallel 2 × data-parallel
    /// 2, ZeRO 3): each rank builds its tensor-parallel shard and the ZeRO-3 engine partitions that shard over the data-parallel pair.
    /// From the same whole weights, 5 AdamW steps equal one plain process on the whole batch: losses, and every weight gathered back.
    /// </summary>
    internal static class TpZeroCase
    {
        private const int Steps = 5;
        private const int Rows = 8;

        public static void Run(ProcessGroup world, Checks checks)
        {
            var config = new PlannedConfig();
            manual_seed(5);
            var reference = new PlannedTpModel(config);
            var initial = reference.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
            Tensor Mse(Tensor output, Tensor target) => (output - target).pow(2).mean();
            var expected = new List<double>();
            using (var optimizer = new AdamW(reference.parameters(), learningRate: 0.01))
                for (var s = 0; s < Steps; s++) {
                    using var scope = NewDisposeScope();
                    var (input, target) = Batch(s, config.Hidden);
                    var loss = Mse(reference.call(input), target);
                    expected.Add(loss.item<float>());
                    loss.backward();
                    optimizer.Step();
                }

            using var training = PlannedTpModel.CreateTraining(config, world,
                (parameters, settings) => new AdamW(parameters, learningRate: 0.01, settings: settings), Mse);
            checks.True(training.Zero is not null, "a ZeRO-3 engine runs beside tensor parallelism");
            // This rank's tensor-parallel shard of the initial weights, from a model built the same way and loaded whole.
            using (var shard = new PlannedTpModel(config, tensorParallel: new TensorParallelOptions(training.Grid.TensorParallel))) {
                TensorParallelState.LoadFull(shard, initial);
                training.Zero!.LoadParameters(shard.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone()));
            }
            var rows = Rows / training.Grid.DataParallelSize;
            for (var s = 0; s < Steps; s++) {
                using var scope = NewDisposeScope();
                var (input, target) = Batch(s, config.Hidden);
                var mine = (Tensor t) => t.narrow(0, rows * training.Grid.DataParallelRank, rows);
                var loss = training.Step(mine(input), mine(target));
                checks.True(Math.Abs(loss - expected[s]) <= 1e-5 * Math.Max(1, Math.Abs(expected[s])),
                    $"TP 2 × ZeRO-3 DP 2: step {s} loss {loss} equals one process on the whole batch ({expected[s]})");
            }
            checks.True(training.Zero!.LastStep is { Gathers: var gathers } && gathers == 2 * config.Layers + 1
                && training.Model.parameters().All(p => p.numel() == 0),
                $"TP 2 × ZeRO-3 DP 2: {training.Zero.LastStep} in the last step, {2 * config.Layers + 1} expected; the shard is empty between steps");
            training.Zero.GatherAll();
            var full = TensorParallelState.GatherFull(training.Model, training.Grid.TensorParallel);
            foreach (var (name, e) in reference.named_parameters())
                checks.Within(e.detach(), full[name], e.detach().abs() * 2e-5 + 2e-6, $"TP 2 × ZeRO-3 DP 2: {name} after {Steps} steps");
            training.Zero.ReleaseAll();
        }

        private static (Tensor Input, Tensor Target) Batch(int step, int hidden) =>
            (WorkerModel.Draw(5000 + step, Rows, hidden), WorkerModel.Draw(6000 + step, Rows, hidden));
    }
}
