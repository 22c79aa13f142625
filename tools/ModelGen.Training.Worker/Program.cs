using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using ModelGen.Optimizers;
using static TorchSharp.torch;

namespace ModelGen.Training.Worker
{
    /// <summary>
    /// One rank of a training test job: <c>mpirun -np N dotnet ModelGen.Training.Worker.dll CASE [DIR]</c>. Cases: zero1, zero2,
    /// offload (stage 2, state on the host), their -fold variants (gradients reduced inside backward), zero3, zero3-offload: 5 AdamW steps; zero3-multi: the generated ZeRO-3 training of stacked layers with several inputs, each rank on its rows of every batch, compared
    /// with plain AdamW on the whole batch; save DIR (ZeRO-3, sharded checkpoint) and load DIR (any world size, same output); resume-save DIR and resume-load DIR
    /// (PlanTraining's checkpoint with the optimizer state: resumed on another world size, the trajectory continues).
    /// Prints "rank R: CASE ok (N checks)" or the mismatches, and exits non-zero on a mismatch.
    /// </summary>
    internal static class Program
    {
        private const int Steps = 5;
        private const int RowsPerRank = 2;

        private static int Main(string[] args)
        {
            if (args.Length == 0) {
                Console.Error.WriteLine("usage: ModelGen.Training.Worker zero1|zero2|zero2-fold|offload|offload-fold|zero3|zero3-offload|zero3-multi|tp-zero3|plan|save DIR|resume-save DIR|resume-load DIR|load DIR");
                return 2;
            }
            var world = World.Initialize();
            var checks = new Checks();
            var watch = Stopwatch.StartNew();
            switch (args[0]) {
                case "zero1": Compare(world, checks, stage: 1, offload: false); break;
                case "zero2": Compare(world, checks, stage: 2, offload: false); break;
                case "zero2-fold": Compare(world, checks, stage: 2, offload: false, foldDuringBackward: true); break;
                case "offload": Compare(world, checks, stage: 2, offload: true); break;
                case "offload-fold": Compare(world, checks, stage: 2, offload: true, foldDuringBackward: true); break;
                case "zero3": Compare(world, checks, stage: 3, offload: false); break;
                case "zero3-offload": Compare(world, checks, stage: 3, offload: true); break;
                case "plan": PlanCase.Run(world, checks); PlanCase.RunGenerated(world, checks); break;
                case "zero3-multi": PlanCase.RunMultiInput(world, checks); break;
                case "tp-zero3": TpZeroCase.Run(world, checks); break;
                case "resume-save": ResumeCase.Save(world, args[1]); break;
                case "resume-load": ResumeCase.Load(world, checks, args[1]); break;
                case "save": Save(world, args[1]); break;
                case "load": Load(world, checks, args[1]); break;
                default: Console.Error.WriteLine($"unknown case '{args[0]}'"); return 2;
            }
            foreach (var failure in checks.Failures)
                Console.Error.WriteLine($"rank {world.Rank}: {args[0]}: FAILED {failure}");
            Console.WriteLine(checks.Failures.Count == 0
                ? $"rank {world.Rank}: {args[0]} ok ({checks.Count} checks, {watch.Elapsed.TotalSeconds:F1} s)"
                : $"rank {world.Rank}: {args[0]} FAILED ({checks.Failures.Count} of {checks.Count} checks)");
            return checks.Failures.Count == 0 ? 0 : 1;
        }

        private static void Compare(ProcessGroup world, Checks checks, int stage, bool offload, bool foldDuringBackward = false)
        {
            var rows = RowsPerRank * world.Size;
            var expected = new WorkerModel(7);
            using (var reference = new AdamW(expected.parameters(), learningRate: 0.01, weightDecay: 0.1))
                for (var s = 0; s < Steps; s++) {
                    using var scope = NewDisposeScope();
                    var (input, target) = WorkerModel.Batch(s, rows);
                    WorkerModel.Loss(expected, input, target).backward();
                    reference.Step();
                }

            var model = new WorkerModel(7);
            var zero = stage == 3 ? new ZeroStage3(model, model.Blocks, world, offloadParameters: offload) : null;
            if (zero is not null)
                model.RunLayer = zero.Forward;
            var settings = new OptimizerSettings { DataParallel = world, ZeroStage = stage, OffloadToHost = offload && stage < 3 };
            using var optimizer = new AdamW(zero is null ? model.parameters() : zero.Partitions, learningRate: 0.01, weightDecay: 0.1, settings: settings);
            // Reduce-scatter each layer's gradients inside backward, as it is produced (the collectives run in the autograd engine).
            using var hooks = foldDuringBackward ? optimizer.FoldDuringBackward(model) : null;
            checks.True(optimizer.OwnedElements <= (expected.parameters().Sum(p => p.numel()) + world.Size - 1) / world.Size + 16,
                $"rank {world.Rank} owns {optimizer.OwnedElements} elements of optimizer state, about 1/{world.Size} expected");
            for (var s = 0; s < Steps; s++) {
                using var scope = NewDisposeScope();
                var (input, target) = WorkerModel.Batch(s, rows);
                zero?.BeginForward();
                var loss = WorkerModel.Loss(model, input.narrow(0, RowsPerRank * world.Rank, RowsPerRank), target.narrow(0, RowsPerRank * world.Rank, RowsPerRank));
                if (zero is null)
                    loss.backward();
                else
                    zero.Backward(loss);
                optimizer.Step();
            }
            if (zero is not null) {
                // 3 blocks: 3 gathers in the forward, 3 in backward, 1 for the rest; every block but the first (forward) and the last
                // (backward, already gathered) is prefetched.
                var report = zero.LastStep!;
                checks.True(zero.Prefetches == (world.Size > 1) && report.Gathers == 7 && report.Prefetched == (zero.Prefetches ? 4 : 0),
                    $"ZeRO-3 gathers of the last step: {report} (prefetching: {zero.Prefetches})");
            }
            zero?.GatherAll();
            zero?.Dispose();
            var pairs = expected.named_parameters().Zip(model.named_parameters());
            foreach (var ((name, e), (_, a)) in pairs)
                checks.Within(e.detach(), a.detach(), e.detach().abs() * 2e-6 + 2e-6, $"ZeRO-{stage}{(offload ? " offload" : "")} {name} after {Steps} steps");
        }

        private static readonly Tensor Probe = WorkerModel.Draw(77, 5, 6);

        private static void Save(ProcessGroup world, string directory)
        {
            var model = new WorkerModel(8);
            using var zero = new ZeroStage3(model, model.Blocks, world);
            model.RunLayer = zero.Forward;
            using var optimizer = new AdamW(zero.Partitions, learningRate: 0.05, settings: new OptimizerSettings { DataParallel = world, ZeroStage = 3 });
            for (var s = 0; s < 2; s++) {
                using var scope = NewDisposeScope();
                var (input, target) = WorkerModel.Batch(s, RowsPerRank * world.Size);
                zero.BeginForward();
                zero.Backward(WorkerModel.Loss(model, input.narrow(0, RowsPerRank * world.Rank, RowsPerRank), target.narrow(0, RowsPerRank * world.Rank, RowsPerRank)));
                optimizer.Step();
            }
            ShardedCheckpoint.Save(directory, zero.ShardedState(), world);
            zero.GatherAll();
            model.RunLayer = null;
            if (world.Rank == 0) {
                using var _ = no_grad();
                using var output = model.call(Probe).contiguous();
                File.WriteAllBytes(Path.Combine(directory, "expected-output.bin"), output.bytes.ToArray());
            }
            world.Barrier();
        }

        private static void Load(ProcessGroup world, Checks checks, string directory)
        {
            var model = new WorkerModel(9);
            ShardedCheckpoint.Load(directory, model);
            using var zero = new ZeroStage3(model, model.Blocks, world);
            model.RunLayer = zero.Forward;
            using var _ = no_grad();
            zero.BeginForward();
            using var output = model.call(Probe).contiguous();
            zero.ReleaseAll();
            using var expected = empty_like(output);
            expected.bytes = File.ReadAllBytes(Path.Combine(directory, "expected-output.bin"));
            checks.Equal(expected, output, $"output on {world.Size} rank(s) of the checkpoint saved by another world size");
        }
    }
}
