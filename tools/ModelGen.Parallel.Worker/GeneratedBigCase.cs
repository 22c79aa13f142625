using System;
using System.IO;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Parallel.Worker
{
    /// <summary>
    /// The <c>generated-big</c> case: the generated <see cref="TpLlama"/> at Llama-2-70B-like sizes (vocabulary 128256, hidden 8192,
    /// 64 heads, 8 key/value heads, inner 28672, 80 layers: about 280 GB of fp32 weights, more than any one host here has) is
    /// constructed per rank on the meta device: each rank's parameters are exactly its shard (counted element by element
    /// against the per-rank formulas of docs/tensor-parallel.md), and no whole tensor is ever allocated (peak resident memory
    /// rises by less than 64 MiB).
    /// </summary>
    internal static class GeneratedBigCase
    {
        public static void Run(ProcessGroup world, Checks checks)
        {
            var config = new TpConfig { Vocab = 128256, Hidden = 8192, Heads = 64, KvHeads = 8, Ffn = 28672, Layers = 80 };
            long t = world.Size, h = config.Hidden, f = config.Ffn, v = config.Vocab, d = h / config.Heads;
            var kvPerRank = Math.Max(config.KvHeads / t, 1);
            var before = PeakResidentBytes();
            using var model = new TpLlama(config, device: new Device(DeviceType.META), tensorParallel: new TensorParallelOptions(world, seed: 1));
            var rise = PeakResidentBytes() - before;
            var layer = h * h / t + 2 * h * d * kvPerRank + h * h / t + 2 * h + 3 * h * f / t;
            var expected = v * h / t + config.Layers * layer + h + h * v / t;
            var held = model.parameters().Sum(p => p.numel());
            var whole = v * h * 2 + h + config.Layers * (2 * h * h + 2 * h * d * config.KvHeads + 2 * h + 3 * h * f);
            checks.True(held == expected, $"the rank holds {held} parameters; its shard of the {whole} is {expected}");
            checks.True(model.parameters().All(p => p.device_type == DeviceType.META), "every parameter is on the meta device");
            checks.True(rise < 64L << 20, $"peak resident memory rose {rise >> 20} MiB while building the rank's part of a {whole * 4 >> 30} GiB model");
            Console.WriteLine($"rank {world.Rank}: generated-big: {held} of {whole} parameters ({held * 4 >> 30} of {whole * 4 >> 30} GiB fp32), peak resident rise {rise >> 20} MiB");
        }

        private static long PeakResidentBytes()
        {
            var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
    }
}
