using System;
using System.IO;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using ModelGen.Nn;
using static TorchSharp.torch;

namespace ModelGen.Parallel.Worker
{
    /// <summary>Dropout streams: reproducible, alike across the group outside the regions, different inside, replayed by checkpointing.</summary>
    internal static class RngCase
    {
        public static void Run(ProcessGroup world, Checks checks)
        {
            var options = new TensorParallelOptions(world);
            using var x = ones(4, 256);
            Tensor Draw(bool perRank) { manual_seed(7); return TensorParallelRng.Dropout(x, 0.5, true, options, perRank); }
            checks.Equal(Draw(true), Draw(true), "the per-rank stream is reproducible from the seed");
            using var inside = world.AllGather(Draw(true));
            using var outside = world.AllGather(Draw(false));
            var chunks = inside.chunk(world.Size, 0);
            var outsideChunks = outside.chunk(world.Size, 0);
            for (var r = 1; r < world.Size; r++)
            {
                checks.True(!chunks[0].eq(chunks[r]).all().item<bool>(), $"inside a region rank {r} draws a different mask from rank 0");
                checks.Equal(outsideChunks[0], outsideChunks[r], $"outside the regions rank {r} draws rank 0's mask");
            }

            // A checkpointed block with attention dropout recomputes the same masks: gradients equal the plain run's.
            using var plain = new TensorParallelAttention(32, 4, 2, options, "attn", dropout: 0.3);
            using var input = randn(2, 8, 32, generator: new Generator(4));
            Tensor Grad(bool checkpointed)
            {
                foreach (var p in plain.parameters()) p.grad = null;
                var xi = input.clone().requires_grad_();
                manual_seed(17);
                var y = checkpointed ? Checkpoint.Run(plain, plain.call, xi) : plain.call(xi);
                BackwardFailures.Backward(y.square().sum());
                return cat(plain.parameters().Select(p => p.grad!.flatten()).Append(xi.grad!.flatten()).ToArray());
            }
            plain.train();
            checks.Equal(Grad(false), Grad(true), "checkpointed attention with per-rank dropout has the plain run's gradients");
        }
    }

    /// <summary>A layer whose full weight is 1 GiB: each rank allocates only its slice (peak resident memory says so).</summary>
    internal static class BigCase
    {
        public static void Run(ProcessGroup world, Checks checks)
        {
            const long In = 8192, Out = 32768;
            const long FullBytes = In * Out * sizeof(float);
            var before = PeakResidentBytes();
            using var layer = new ColumnParallelLinear(In, Out, new TensorParallelOptions(world, seed: 1), "huge", hasBias: false);
            var rise = PeakResidentBytes() - before;
            var shardBytes = FullBytes / world.Size;
            checks.True(layer.Weight.numel() * sizeof(float) == shardBytes, $"the rank holds {layer.Weight.numel()} elements, 1/{world.Size} of the layer");
            checks.True(rise < shardBytes + (96L << 20), $"peak resident memory rose {rise >> 20} MiB for a {shardBytes >> 20} MiB shard of a {FullBytes >> 20} MiB layer");
            Console.WriteLine($"rank {world.Rank}: big: shard {shardBytes >> 20} MiB of {FullBytes >> 20} MiB, peak resident rise {rise >> 20} MiB");
        }

        private static long PeakResidentBytes()
        {
            var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
    }

    /// <summary>Bad plans fail at construction with a message that names the quantity and the degree.</summary>
    internal static class PlanCases
    {
        public static void Run(ProcessGroup world, Checks checks)
        {
            var options = new TensorParallelOptions(world);
            var t = world.Size;
            Expect<ArgumentException>(checks, () => new TensorParallelAttention(12, 3, 3, options, "attn"), $"degree {t} does not divide the query heads of 'attn' = 3");
            Expect<ArgumentException>(checks, () => new TensorParallelAttention(48, 12, 3, options, "attn"), "key/value heads of 'attn' = 3");
            Expect<ArgumentException>(checks, () => new VocabParallelEmbedding(31, 8, options, "embed"), $"degree {t} does not divide the vocabulary of 'embed' = 31");
            Expect<ArgumentException>(checks, () => new TensorParallelFeedForward(8, 33, FeedForwardActivation.SwiGlu, options, "mlp"), "the output features of 'mlp.gate_proj' = 33");
            Expect<InvalidOperationException>(checks, () => ParallelGrid.Create(world, 3, 1), $"needs tensor-parallel 3 × data-parallel 1 = 3 ranks, but this job has {t}");
            using var layer = new RowParallelLinear(8, 8, new TensorParallelOptions(world, sequenceParallel: true), "sp");
            Expect<ArgumentException>(checks, () => layer.call(ones(1, 3 * t + 1, 8 / t)), "sequence length must be a multiple of the degree");
        }

        private static void Expect<T>(Checks checks, Func<object> build, string message) where T : Exception
        {
            try
            {
                build();
                checks.True(false, $"no error for a plan that should say '{message}'");
            }
            catch (T e)
            {
                checks.True(e.Message.Contains(message, StringComparison.Ordinal), $"the error says '{e.Message}', expected '{message}'");
            }
        }
    }
}
