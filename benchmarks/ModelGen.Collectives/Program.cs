using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using ModelGen.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Collectives
{
    /// <summary>
    /// Under mpirun: <c>allreduce</c> prints "bytes seconds" lines exactly as allreduce.c does (same sizes, iterations,
    /// bursts and timing rule); <c>overlap</c> trains an MLP under DistributedDataParallel with and without overlap and prints what
    /// each step spent; <c>zero</c> times one step of every data-parallel plan PlanTraining runs (ZeroOverhead).
    /// </summary>
    internal static class Program
    {
        // As allreduce.c: the iterations run in bursts, and each size reports its fastest burst.
        private const int Bursts = 10;

        private static int Main(string[] args)
        {
            var world = World.Initialize();
            switch (args.FirstOrDefault())
            {
                case "allreduce": AllReduce(world); return 0;
                case "callcost": CallCost(world); return 0;
                case "overlap": Overlap(world, args.Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray()); return 0;
                case "zero": ZeroOverhead.Run(world, args.Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray()); return 0;
                default:
                    Console.Error.WriteLine("usage: mpirun -np 2 dotnet ModelGen.Collectives.dll allreduce | overlap [layers width batch steps] | zero [layers width batch steps]");
                    return 2;
            }
        }

        private static void AllReduce(ProcessGroup world)
        {
            // allreduce.c runs one thread per rank; libtorch's intra-op pool would otherwise put two spinning threads per
            // rank (filling the buffers) on the 2 cores the two ranks share.
            torch.set_num_threads(1);
            for (var bytes = 4096L; bytes <= 64L << 20; bytes *= 4)
            {
                var iterations = (int)Math.Clamp((1024L << 20) / bytes, 50, 5000);
                using var buffer = torch.zeros(bytes / sizeof(float), ScalarType.Float32);
                // Warm-up: at least 5 calls and 0.3 s (rank 0's clock decides), so tiered compilation has replaced the first,
                // unoptimized code of the binding before anything is timed (allreduce.c warms up the same way).
                using var go = torch.ones(1, ScalarType.Int32);
                var warm = Stopwatch.GetTimestamp();
                for (var i = 0; go.item<int>() != 0; i++)
                {
                    world.AllReduce(buffer);
                    go.fill_(i < 5 || Stopwatch.GetElapsedTime(warm).TotalSeconds < 0.3 ? 1 : 0);
                    world.Broadcast(go, 0);
                }
                var best = double.MaxValue;
                for (var burst = 0; burst < Bursts; burst++)
                {
                    world.Barrier();
                    var start = Stopwatch.GetTimestamp();
                    for (var i = 0; i < iterations / Bursts; i++) world.AllReduce(buffer);
                    using var elapsed = torch.tensor(new[] { Stopwatch.GetElapsedTime(start).TotalSeconds / (iterations / Bursts) });
                    world.AllReduce(elapsed, ReduceOp.Max);
                    best = Math.Min(best, elapsed.item<double>());
                }
                if (world.Rank == 0) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{bytes} {best:F9}"));
            }
        }

        // As allreduce.c's callcost: nanoseconds per one-float in-place AllReduce on one rank (no data moves), best of 10 bursts.
        private static void CallCost(ProcessGroup world)
        {
            using var value = torch.zeros(1, ScalarType.Float32);
            var warm = Stopwatch.GetTimestamp(); // 0.5 s: past tiered compilation's promotion to optimized code
            while (Stopwatch.GetElapsedTime(warm).TotalSeconds < 0.5) world.AllReduce(value);
            var best = double.MaxValue;
            for (var burst = 0; burst < Bursts; burst++)
            {
                var start = Stopwatch.GetTimestamp();
                for (var i = 0; i < 100_000; i++) world.AllReduce(value);
                best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds / 100_000);
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{best * 1e9:F1}"));
        }

        // Steps of an MLP (layers × width², batch rows), with overlap on and off, alternating so both see the same load.
        private static void Overlap(ProcessGroup world, int[] settings)
        {
            var layers = settings.ElementAtOrDefault(0) is > 0 and var l ? l : 8;
            var width = settings.ElementAtOrDefault(1) is > 0 and var w ? w : 1024;
            var batch = settings.ElementAtOrDefault(2) is > 0 and var b ? b : 256;
            var steps = settings.ElementAtOrDefault(3) is > 0 and var s ? s : 10;
            torch.set_num_threads(1); // One core per rank: 2 ranks on the 2-core CI machine.
            foreach (var bucketMiB in new[] { 25, 4 })
            {
                var results = new[] { true, false }.ToDictionary(o => o, _ => (Backward: 0.0, Sync: 0.0, Comm: 0.0, Hidden: 0.0, Early: 0, Buckets: 0));
                using var modelOn = Mlp(layers, width);
                using var modelOff = Mlp(layers, width);
                using var on = new DistributedDataParallel(modelOn, world, new DataParallelOptions { BucketBytes = bucketMiB << 20 });
                using var off = new DistributedDataParallel(modelOff, world, new DataParallelOptions { BucketBytes = bucketMiB << 20, OverlapWithBackward = false });
                using var input = torch.randn(batch, width);
                for (var step = -2; step < steps; step++) // two warm-up steps
                {
                    foreach (var (overlap, model, ddp) in new[] { (true, modelOn, on), (false, modelOff, off) })
                    {
                        model.zero_grad();
                        using var loss = model.call(input).square().mean();
                        world.Barrier();
                        var watch = Stopwatch.StartNew();
                        loss.backward();
                        var backward = watch.Elapsed.TotalSeconds;
                        ddp.SynchronizeGradients();
                        var last = ddp.LastStep!;
                        if (step < 0) continue;
                        var r = results[overlap];
                        results[overlap] = (r.Backward + backward, r.Sync + last.SynchronizeSeconds, r.Comm + last.CommunicationSeconds,
                            r.Hidden + last.OverlappedSeconds, r.Early + last.StartedDuringBackward, last.Buckets);
                    }
                }
                if (world.Rank != 0) continue;
                var mib = layers * (long)(width * width + width) * 4 / (1 << 20);
                foreach (var (overlap, r) in results)
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {bucketMiB} MiB | {(overlap ? "on" : "off")} | {r.Buckets} ({r.Early / (double)steps:F1} early) | {mib} MiB | {1000 * r.Backward / steps:F1} | {1000 * r.Sync / steps:F1} | {1000 * (r.Backward + r.Sync) / steps:F1} | {1000 * r.Comm / steps:F1} | {1000 * r.Hidden / steps:F1} |"));
            }
        }

        private static nn.Module<Tensor, Tensor> Mlp(int layers, int width)
        {
            torch.manual_seed(1);
            var modules = Enumerable.Range(0, layers).SelectMany(_ => new nn.Module<Tensor, Tensor>[] { nn.Linear(width, width), nn.Tanh() }).ToArray();
            return nn.Sequential(modules);
        }
    }
}
