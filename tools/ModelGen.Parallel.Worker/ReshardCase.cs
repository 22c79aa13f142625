using System;
using System.IO;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using static TorchSharp.torch;

namespace ModelGen.Parallel.Worker
{
    /// <summary>
    /// State between degrees: the sharded initialization gathers to the same full tensors at degree 1, 2 and the world's size,
    /// and a state gathered at degree 2 loads at the world's degree and gives the same loss.
    /// </summary>
    internal static class ReshardCase
    {
        /// <summary>A fresh folder under the temporary directory, the same name on every rank (rank 0 draws it).</summary>
        private static string SharedDirectory(ProcessGroup world, string tag)
        {
            using var id = tensor(new long[] { Random.Shared.NextInt64(1, long.MaxValue) });
            world.Broadcast(id);
            return Path.Combine(Path.GetTempPath(), $"modelgen-tp-{id[0].item<long>():x}-{tag}");
        }

        public static void Run(ProcessGroup world, Checks checks)
        {
            using var grid = ParallelGrid.Create(world, tensorParallel: 2, dataParallel: world.Size / 2);
            foreach (var flavor in new[] { Flavor.Llama, Flavor.Gpt2 })
            {
                using var scope = NewDisposeScope();
                using var one = new ParallelLm(flavor, new TensorParallelOptions(SingleProcessGroup.Instance, seed: 9));
                using var two = new ParallelLm(flavor, new TensorParallelOptions(grid.TensorParallel, seed: 9));
                using var all = new ParallelLm(flavor, new TensorParallelOptions(world, seed: 9));
                var full1 = TensorParallelState.GatherFull(one, SingleProcessGroup.Instance);
                var full2 = TensorParallelState.GatherFull(two, grid.TensorParallel);
                var fullN = TensorParallelState.GatherFull(all, world);
                foreach (var name in full1.Keys)
                {
                    checks.Equal(full1[name], full2[name], $"{flavor}: {name} initialized at degree 2 equals degree 1");
                    checks.Equal(full1[name], fullN[name], $"{flavor}: {name} initialized at degree {world.Size} equals degree 1");
                }

                // A train-like change (the same on every rank) at degree 2, gather ("save"), load at the world's degree ("resume").
                var changed = full2.ToDictionary(kv => kv.Key, kv => kv.Value + 0.1 * randn(kv.Value.shape, generator: new Generator(77)));
                TensorParallelState.LoadFull(two, changed);
                var saved = TensorParallelState.GatherFull(two, grid.TensorParallel);
                using var resumed = new ParallelLm(flavor, new TensorParallelOptions(world, seed: 123));
                TensorParallelState.LoadFull(resumed, saved);
                var tokens = randint(TinySizes.Vocab, new long[] { 2, 8 }, generator: new Generator(5));
                var targets = randint(TinySizes.Vocab, new long[] { 2, 8 }, generator: new Generator(6));
                Compare.Close(checks, two.Loss(tokens, targets), resumed.Loss(tokens, targets), $"{flavor}: loss after moving from degree 2 to {world.Size}");
                // The same move through files: each degree-2 rank writes its slices, every rank of the world reads them back.
                var directory = SharedDirectory(world, flavor.ToString());
                if (grid.DataParallelRank == 0) TensorParallelCheckpoint.Save(directory, two, grid.TensorParallel);
                world.Barrier();
                using var fromFiles = new ParallelLm(flavor, new TensorParallelOptions(world, seed: 321));
                TensorParallelCheckpoint.Load(directory, fromFiles);
                Compare.Close(checks, two.Loss(tokens, targets), fromFiles.Loss(tokens, targets), $"{flavor}: loss after a checkpoint written at degree 2 loads at {world.Size}");
                world.Barrier();
                if (world.Rank == 0) Directory.Delete(directory, recursive: true);

                var again = TensorParallelState.GatherFull(resumed, world);
                foreach (var name in saved.Keys.Where(n => !again.ContainsKey(n)))
                    checks.True(false, $"{flavor}: {name} lost when moving degrees");
                foreach (var (name, value) in again)
                    checks.Equal(saved[name], value, $"{flavor}: {name} survives the move between degrees");
            }
        }
    }
}
