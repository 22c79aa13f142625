using System;
using System.Diagnostics;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using static TorchSharp.torch;

namespace ModelGen.Parallel.Worker
{
    /// <summary>
    /// One rank of a tensor-parallel test job: <c>mpirun -np N dotnet ModelGen.Parallel.Worker.dll CASE…</c>. The world is the
    /// tensor-parallel group unless a case says otherwise. Cases: blocks (every sharded block against its unsharded runtime
    /// block, with and without sequence parallelism), stacks (tiny Llama-like and GPT-2-like models, with and without
    /// checkpointing and sequence parallelism), train (TP 2 × DP 2, 20 steps against one plain process), reshard (initialization
    /// and state moving between degrees), rng (dropout streams), big (only the shard is ever allocated), plans (bad plans fail
    /// with clear errors). Prints "rank R: CASE ok (N checks, T s)" or the mismatches; exits non-zero on a mismatch.
    /// </summary>
    internal static class Program
    {
        private static int Main(string[] args)
        {
            if (args.Length == 0)
            {
                Console.Error.WriteLine("usage: ModelGen.Parallel.Worker blocks|stacks|train|reshard|rng|big|plans|generated|generated-big …");
                return 2;
            }
            var world = World.Initialize();
            var failed = false;
            foreach (var name in args)
            {
                var checks = new Checks();
                var watch = Stopwatch.StartNew();
                using (var scope = NewDisposeScope())
                {
                    switch (name)
                    {
                        case "blocks": BlockCases.Run(world, checks); break;
                        case "stacks": StackCases.Run(world, checks); break;
                        case "train": TrainCase.Run(world, checks); break;
                        case "reshard": ReshardCase.Run(world, checks); break;
                        case "rng": RngCase.Run(world, checks); break;
                        case "big": BigCase.Run(world, checks); break;
                        case "plans": PlanCases.Run(world, checks); break;
                        case "bench": BenchCase.Run(world, checks); break;
                        case "generated": GeneratedCases.Run(world, checks); break;
                        case "generated-big": GeneratedBigCase.Run(world, checks); break;
                        case "generated-train": GeneratedTrainCase.Run(world, checks); break;
                        case "generated-decode": GeneratedDecodeCase.Run(world, checks); break;
                        case "generated-bench": GeneratedBenchCase.Run(world, checks); break;
                        case "master-weights": MasterWeightsCase.Run(world, checks); break;
                        case "clip-norm": ClipNormCase.Run(world, checks); break;
                        case "quantized-blocks": QuantizedBlockCases.Run(world, checks); break;
                        case "generated-quantized": GeneratedQuantizedCase.Run(world, checks); break;
                        case "generated-window": GeneratedWindowCase.Run(world, checks); break;
                        case "generated-precision": GeneratedPrecisionCase.Run(world, checks); break;
                        case "gathered-logits": GatheredLogitsCase.Run(world, checks); break;
                        default: Console.Error.WriteLine($"unknown case '{name}'"); return 2;
                    }
                }
                foreach (var failure in checks.Failures)
                    Console.Error.WriteLine($"rank {world.Rank}: {name}: FAILED {failure}");
                Console.WriteLine(checks.Failures.Count == 0
                    ? $"rank {world.Rank}: {name} ok ({checks.Count} checks, {watch.Elapsed.TotalSeconds:F1} s)"
                    : $"rank {world.Rank}: {name} FAILED ({checks.Failures.Count} of {checks.Count} checks)");
                failed |= checks.Failures.Count > 0;
            }
            return failed ? 1 : 0;
        }
    }
}
