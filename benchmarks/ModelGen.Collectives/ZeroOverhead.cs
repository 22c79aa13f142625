using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Optimizers;
using ModelGen.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Collectives
{
    /// <summary>
    /// Step time of every data-parallel plan <see cref="PlanTraining"/> runs, on the same model and batch, alternating plan by plan
    /// each step so that all see the same load: plain data parallelism (DDP), ZeRO 2, ZeRO 2 with the optimizer offloaded, ZeRO 3
    /// (with prefetch) and ZeRO 3 with parameters and optimizer offloaded. Prints one Markdown row per plan (rank 0).
    /// </summary>
    internal static class ZeroOverhead
    {
        public static void Run(ProcessGroup world, int[] settings)
        {
            var layers = settings.ElementAtOrDefault(0) is > 0 and var l ? l : 8;
            var width = settings.ElementAtOrDefault(1) is > 0 and var w ? w : 1024;
            var batch = settings.ElementAtOrDefault(2) is > 0 and var b ? b : 256;
            var steps = settings.ElementAtOrDefault(3) is > 0 and var s ? s : 10;
            torch.set_num_threads(1); // One core per rank: 2 ranks on the 2-core CI machine.
            var plans = new (string Name, TrainingPlan Plan)[]
            {
                ("DP (DDP buckets)", new TrainingPlan(DataParallel: world.Size)),
                ("ZeRO 2", new TrainingPlan(DataParallel: world.Size, ZeroStage: 2)),
                ("ZeRO 2 + offload optimizer", new TrainingPlan(DataParallel: world.Size, ZeroStage: 2, OffloadOptimizer: true)),
                ("ZeRO 3", new TrainingPlan(DataParallel: world.Size, ZeroStage: 3)),
                ("ZeRO 3 + offload parameters and optimizer", new TrainingPlan(DataParallel: world.Size, ZeroStage: 3, OffloadOptimizer: true, OffloadParameters: true)),
            };
            var trainings = plans.Select(p => new PlanTraining(p.Plan, world, _ => new Net(layers, width),
                (parameters, optimizerSettings) => new ModelGen.Optimizers.AdamW(parameters, learningRate: 1e-4, settings: optimizerSettings),
                (output, target) => (output - target).square().mean())).ToArray();
            var seconds = new double[plans.Length];
            var gathers = new (int Gathers, int Prefetched, double Hidden, double Waited)[plans.Length];
            using var input = torch.randn(batch, width);
            using var target = torch.randn(batch, width);
            for (var step = -2; step < steps; step++) // two warm-up steps
            {
                for (var i = 0; i < plans.Length; i++)
                {
                    world.Barrier();
                    var watch = Stopwatch.StartNew();
                    trainings[i].Step(input, target);
                    var elapsed = watch.Elapsed.TotalSeconds;
                    if (step < 0)
                        continue;
                    seconds[i] += elapsed;
                    if (trainings[i].Zero?.LastStep is { } report)
                        gathers[i] = (report.Gathers, report.Prefetched, gathers[i].Hidden + report.HiddenSeconds, gathers[i].Waited + report.WaitedSeconds);
                }
            }
            foreach (var training in trainings)
                training.Dispose();
            if (world.Rank != 0)
                return;
            var baseline = seconds[0];
            for (var i = 0; i < plans.Length; i++)
            {
                var g = gathers[i];
                var zero = g.Gathers == 0 ? "–" : string.Create(CultureInfo.InvariantCulture,
                    $"{g.Gathers} ({g.Prefetched} prefetched) | {1000 * g.Hidden / steps:F1} | {1000 * g.Waited / steps:F1}");
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {plans[i].Name} | {1000 * seconds[i] / steps:F1} | {seconds[i] / baseline:F2} | {(g.Gathers == 0 ? "– | – | –" : zero)} |"));
            }
        }

        /// <summary>A residual block whose forward starts with the line generated layers have (ZeRO-3 routes it through its engine).</summary>
        private sealed class Block : nn.Module<Tensor, Tensor>
        {
            private readonly Linear fc;

            public Block(int width) : base(nameof(Block))
            {
                fc = nn.Linear(width, width);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                if (ZeroRouting.Routes(this)) return ZeroRouting.Forward(this, x);
                return x + torch.tanh(fc.call(x));
            }
        }

        private sealed class Net : nn.Module<Tensor, Tensor>
        {
            private readonly ModuleList<Block> blocks;
            private readonly Linear head;

            public Net(int layers, int width) : base(nameof(Net))
            {
                torch.manual_seed(1);
                blocks = nn.ModuleList(Enumerable.Range(0, layers).Select(_ => new Block(width)).ToArray());
                head = nn.Linear(width, width);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                foreach (var block in blocks)
                    x = block.call(x);
                return head.call(x);
            }
        }
    }
}
