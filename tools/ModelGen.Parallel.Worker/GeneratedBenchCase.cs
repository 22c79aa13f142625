using System;
using System.Diagnostics;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using ModelGen.Optimizers;
using static TorchSharp.torch;

namespace ModelGen.Parallel.Worker
{
    /// <summary>
    /// Not a test (no test launches it): step time of the generated <see cref="TpLlama"/> (hidden 512, 8 heads, 8 key/value heads,
    /// SwiGLU inner 2048, 4 layers, vocabulary 4096) built for the world's tensor-parallel degree, batch 4 × sequence 128, fp32,
    /// forward + vocab-parallel cross-entropy + backward + AdamW, one intra-op thread per rank, 10 timed steps after 3 warm-up
    /// steps, and the share spent in collectives. Run at 1 and 2 ranks and compare (docs/tensor-parallel.md).
    /// </summary>
    internal static class GeneratedBenchCase
    {
        private const long Batch = 4, Seq = 128;
        private const int Warmup = 3, Steps = 10;

        public static void Run(ProcessGroup world, Checks checks)
        {
            set_num_threads(1);
            var config = new TpConfig { Vocab = 4096, Hidden = 512, Heads = 8, KvHeads = 8, Ffn = 2048, Layers = 4 };
            var options = new TensorParallelOptions(world, sequenceParallel: false, seed: 1) { VocabParallelLogits = true };
            using var model = new TpLlama(config, tensorParallel: options);
            using var optimizer = new AdamW(model.parameters(), learningRate: 1e-4);
            using var generator = new Generator(3);
            var tokens = randint(config.Vocab, new[] { Batch, Seq + 1 }, generator: generator);
            var start = options.Rank * (config.Vocab / options.Degree);
            var watch = new Stopwatch();
            for (var s = 0; s < Warmup + Steps; s++)
            {
                if (s == Warmup) { TensorParallelRegion.ResetCommunicationTime(); watch.Restart(); }
                using var scope = NewDisposeScope();
                var logits = model.call(tokens[.., ..(int)Seq]);
                BackwardFailures.Backward(VocabParallelCrossEntropy.Loss(logits, tokens[.., 1..], start, options.Group).mean());
                optimizer.Step();
            }
            watch.Stop();
            var step = watch.Elapsed.TotalMilliseconds / Steps;
            var communication = TensorParallelRegion.CommunicationTime.TotalMilliseconds / Steps;
            Console.WriteLine($"rank {world.Rank}: generated-bench: degree {world.Size}: {step:F1} ms/step, {communication:F1} ms/step in collectives ({100 * communication / step:F1} %)");
            checks.True(step > 0, "the benchmark ran");
        }
    }
}
