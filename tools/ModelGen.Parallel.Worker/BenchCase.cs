using System;
using System.Diagnostics;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using ModelGen.Nn;
using ModelGen.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Parallel.Worker
{
    /// <summary>
    /// Not a test (no test launches it): step time of a small Llama-like layer stack at the world's tensor-parallel degree, and the
    /// share of it spent in collectives. Run at 1 and 2 ranks, one intra-op thread per rank, and compare (docs/tensor-parallel.md).
    /// </summary>
    internal static class BenchCase
    {
        private const long Hidden = 512, Heads = 8, KvHeads = 8, Inner = 2048, Batch = 4, Seq = 128;
        private const int Layers = 4, Warmup = 3, Steps = 10;

        public static void Run(ProcessGroup world, Checks checks)
        {
            set_num_threads(1);
            var options = new TensorParallelOptions(world, sequenceParallel: false, seed: 1);
            var blocks = Enumerable.Range(0, Layers).Select(i => (
                Attn: new TensorParallelAttention(Hidden, Heads, KvHeads, options, $"layers.{i}.attn", rotary: true),
                Mlp: new TensorParallelFeedForward(Hidden, Inner, FeedForwardActivation.SwiGlu, options, $"layers.{i}.mlp", bias: false))).ToList();
            var parameters = blocks.SelectMany(b => b.Attn.parameters().Concat(b.Mlp.parameters())).ToList();
            using var optimizer = new AdamW(parameters, learningRate: 1e-4);
            var input = randn(new[] { Batch, Seq, Hidden }, generator: new Generator(3));
            var watch = new Stopwatch();
            for (var s = 0; s < Warmup + Steps; s++)
            {
                if (s == Warmup) { TensorParallelRegion.ResetCommunicationTime(); watch.Restart(); }
                using var scope = NewDisposeScope();
                var x = input;
                foreach (var (attn, mlp) in blocks)
                {
                    x = x + attn.call(x);
                    x = x + mlp.call(x);
                }
                BackwardFailures.Backward(x.square().mean());
                optimizer.Step();
            }
            watch.Stop();
            var step = watch.Elapsed.TotalMilliseconds / Steps;
            var communication = TensorParallelRegion.CommunicationTime.TotalMilliseconds / Steps;
            Console.WriteLine($"rank {world.Rank}: bench: degree {world.Size}: {step:F1} ms/step, {communication:F1} ms/step in collectives ({100 * communication / step:F1} %)");
            checks.True(step > 0, "the benchmark ran");
        }
    }
}
