using System;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using ModelGen.Optimizers;
using static TorchSharp.torch;

namespace ModelGen.Training.Worker
{
    /// <summary>
    /// The <c>resume-save DIR</c> and <c>resume-load DIR</c> cases: <see cref="PlanTraining"/> trains 3 steps with ZeRO 3 on the
    /// saving world and writes <see cref="PlanTraining.SaveCheckpoint"/>; another world (1 rank: plain; more: ZeRO 3) resumes with
    /// <see cref="PlanTraining.LoadCheckpoint"/> and trains 2 more steps; its parameters equal 5 uninterrupted steps of plain AdamW
    /// in one process, which every rank computes itself.
    /// </summary>
    internal static class ResumeCase
    {
        private const int Rows = 8;
        private const int Saved = 3;
        private const int Total = 5;

        public static void Save(ProcessGroup world, string directory)
        {
            using var training = Create(world, new TrainingPlan(DataParallel: world.Size, ZeroStage: 3), seed: 6, out _);
            Train(training, world, 0, Saved);
            training.SaveCheckpoint(directory);
        }

        public static void Load(ProcessGroup world, Checks checks, string directory)
        {
            var expected = new WorkerModel(6);
            using (var reference = new AdamW(expected.parameters(), learningRate: 0.01, weightDecay: 0.1))
                for (var s = 0; s < Total; s++) {
                    using var scope = NewDisposeScope();
                    var (input, target) = WorkerModel.Batch(s, Rows);
                    WorkerModel.Loss(expected, input, target).backward();
                    reference.Step();
                }
            var plan = world.Size == 1 ? new TrainingPlan() : new TrainingPlan(DataParallel: world.Size, ZeroStage: 3);
            // Other initial weights: the checkpoint must replace every one.
            using var training = Create(world, plan, seed: 60, out var model);
            training.LoadCheckpoint(directory);
            Train(training, world, Saved, Total);
            training.Zero?.GatherAll();
            foreach (var ((name, e), (_, a)) in expected.named_parameters().Zip(model.named_parameters()))
                checks.Within(e.detach(), a.detach(), e.detach().abs() * 2e-6 + 2e-6,
                    $"{plan} on {world.Size} rank(s), resumed after {Saved} steps: {name} after {Total} steps");
            training.Zero?.ReleaseAll();
        }

        private static PlanTraining Create(ProcessGroup world, TrainingPlan plan, long seed, out WorkerModel model)
        {
            WorkerModel? built = null;
            var training = new PlanTraining(plan, world, _ => built = new WorkerModel(seed),
                (parameters, settings) => new AdamW(parameters, learningRate: 0.01, weightDecay: 0.1, settings: settings),
                (output, target) => (output - target).pow(2).mean());
            model = built!;
            if (training.Zero is { } zero)
                model.RunLayer = zero.Forward; // a hand-written model routes its blocks itself
            return training;
        }

        private static void Train(PlanTraining training, ProcessGroup world, int first, int last)
        {
            var rows = Rows / world.Size;
            for (var s = first; s < last; s++) {
                using var scope = NewDisposeScope();
                var (input, target) = WorkerModel.Batch(s, Rows);
                training.Step(input.narrow(0, rows * world.Rank, rows), target.narrow(0, rows * world.Rank, rows));
            }
        }
    }
}
