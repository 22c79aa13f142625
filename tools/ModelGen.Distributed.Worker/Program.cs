using System;
using System.Diagnostics;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Distributed.Worker
{
    /// <summary>
    /// One rank of a test job: <c>mpirun -np N dotnet ModelGen.Distributed.Worker.dll CASE…</c>. Each case prints
    /// "rank R: CASE ok (N checks)" or the mismatches and exits non-zero; failure cases end the job on purpose.
    /// </summary>
    internal static class Program
    {
        private static int Main(string[] args)
        {
            if (args.Length == 0)
            {
                Console.Error.WriteLine("usage: ModelGen.Distributed.Worker CASE... (signals, collectives, groups, data-parallel, single, grid-mismatch, throw, kill)");
                return 2;
            }
            var world = World.Initialize();
            var failed = false;
            foreach (var name in args)
            {
                var checks = new Checks();
                var watch = Stopwatch.StartNew();
                switch (name)
                {
                    case "collectives": CollectiveChecks.Run(world, checks); break;
                    case "groups": GroupChecks.Run(world, checks); break;
                    case "data-parallel": DataParallelChecks.Run(world, checks); break;
                    case "signals": SignalCheck(checks); break;
                    case "single":
                        checks.True(world is SingleProcessGroup && !World.IsDistributed && World.Size == 1, $"a process without a launcher is a world of one (got {world.GetType().Name}, size {world.Size})");
                        break;
                    case "grid-mismatch": ParallelGrid.Create(world, world.Size + 1, 1); break;
                    case "throw": ThrowOnLastRank(world); break;
                    case "kill": KillLastRank(world); break;
                    default: Console.Error.WriteLine($"unknown case '{name}'"); return 2;
                }
                foreach (var failure in checks.Failures) Console.Error.WriteLine($"rank {world.Rank}: {name}: FAILED {failure}");
                Console.WriteLine(checks.Failures.Count == 0
                    ? $"rank {world.Rank}: {name} ok ({checks.Count} checks, {watch.Elapsed.TotalSeconds:F1} s)"
                    : $"rank {world.Rank}: {name} FAILED ({checks.Failures.Count} of {checks.Count} checks)");
                failed |= checks.Failures.Count > 0;
            }
            return failed ? 1 : 0;
        }

        // Open MPI would turn .NET's SIGSEGV-based null checks into a crash if its own signal handlers were installed.
        private static void SignalCheck(Checks checks)
        {
            object? nothing = Environment.GetEnvironmentVariable("MODELGEN_NO_SUCH_VARIABLE");
            try
            {
                _ = nothing!.GetHashCode();
                checks.True(false, "a null dereference raised nothing");
            }
            catch (NullReferenceException)
            {
                checks.True(true, "a null dereference is a catchable NullReferenceException under MPI");
            }
        }

        // The last rank throws while the others wait in an all-reduce that can never complete.
        private static void ThrowOnLastRank(ProcessGroup world)
        {
            world.Barrier();
            if (world.Rank == world.Size - 1) throw new InvalidOperationException("deliberate failure in the middle of a step");
            using var gradient = torch.ones(1000);
            world.AllReduce(gradient);
            Console.WriteLine($"rank {world.Rank}: all-reduce returned although a peer failed");
        }

        // The last rank dies by SIGKILL (no handler runs) while the others wait in an all-reduce.
        private static void KillLastRank(ProcessGroup world)
        {
            world.Barrier();
            if (world.Rank == world.Size - 1)
            {
                Console.Out.Flush();
                Process.GetCurrentProcess().Kill();
            }
            using var gradient = torch.ones(1000);
            world.AllReduce(gradient);
            Console.WriteLine($"rank {world.Rank}: all-reduce returned although a peer died");
        }
    }
}
