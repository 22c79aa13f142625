using System;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using ModelGen.Optimizers;
using static TorchSharp.torch;

namespace ModelGen.Parallel.Worker
{
    /// <summary>
    /// TP 2 × DP 2 on 4 ranks trains the tiny Llama-like stack 20 AdamW steps, each data-parallel rank on half of every batch,
    /// and its loss curve and final weights equal one plain process training on the whole batch.
    /// </summary>
    internal static class TrainCase
    {
        private const int Steps = 20, Rows = 4;

        public static void Run(ProcessGroup world, Checks checks)
        {
            using var grid = ParallelGrid.Create(world, tensorParallel: 2, dataParallel: world.Size / 2);
            manual_seed(31);
            using var reference = new ReferenceLm(Flavor.Llama);
            using var model = new ParallelLm(Flavor.Llama, new TensorParallelOptions(grid.TensorParallel, sequenceParallel: true, seed: 1));
            TensorParallelState.LoadFull(model, Compare.State(reference));

            var expected = new double[Steps];
            using (var optimizer = new AdamW(reference.parameters(), learningRate: 0.01, weightDecay: 0.1))
                for (var s = 0; s < Steps; s++)
                {
                    using var scope = NewDisposeScope();
                    var (tokens, targets) = Batch(s);
                    var loss = reference.Loss(tokens, targets);
                    loss.backward();
                    optimizer.Step();
                    expected[s] = loss.item<float>();
                }

            var actual = new double[Steps];
            var rows = Rows / grid.DataParallelSize;
            using (var optimizer = new AdamW(model.parameters(), learningRate: 0.01, weightDecay: 0.1))
                for (var s = 0; s < Steps; s++)
                {
                    using var scope = NewDisposeScope();
                    var (tokens, targets) = Batch(s);
                    var mine = (Tensor t) => t.narrow(0, rows * grid.DataParallelRank, rows);
                    var loss = model.Loss(mine(tokens), mine(targets));
                    BackwardFailures.Backward(loss);
                    // Data parallel: every replica of a shard averages its gradient with the other data-parallel ranks.
                    foreach (var p in model.parameters())
                        grid.DataParallel.AllReduce(p.grad!, ReduceOp.Average);
                    optimizer.Step();
                    var mean = loss.detach().clone().reshape(1);
                    grid.DataParallel.AllReduce(mean, ReduceOp.Average);
                    actual[s] = mean.item<float>();
                }

            checks.True(expected[^1] < expected[0] * 0.8, $"the reference learns: loss {expected[0]:F4} → {expected[^1]:F4}");
            for (var s = 0; s < Steps; s++)
                checks.True(Math.Abs(actual[s] - expected[s]) <= 1e-4 * Math.Max(1, Math.Abs(expected[s])), $"step {s}: loss {actual[s]:F6}, single process {expected[s]:F6}");
            var full = TensorParallelState.GatherFull(model, grid.TensorParallel);
            foreach (var (name, p) in reference.named_parameters())
                Compare.Close(checks, p, full[name], $"after {Steps} steps: {name}", atol: 1e-4);
            if (world.Rank == 0)
                Console.WriteLine("loss curve: " + string.Join(" ", actual.Select(l => l.ToString("F4", System.Globalization.CultureInfo.InvariantCulture))));
        }

        private static (Tensor Tokens, Tensor Targets) Batch(int step)
        {
            using var generator = new Generator((ulong)(1000 + step));
            var tokens = randint(TinySizes.Vocab, new long[] { Rows, 8 }, generator: generator);
            // A learnable rule: the next token is the current one plus one.
            return (tokens, (tokens + 1).remainder(TinySizes.Vocab));
        }
    }
}
