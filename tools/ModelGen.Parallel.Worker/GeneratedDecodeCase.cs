using System;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using ModelGen.Inference;
using ModelGen.Memory;
using ModelGen.Specs;
using static TorchSharp.torch;

namespace ModelGen.Parallel.Worker
{
    /// <summary>
    /// The <c>generated-decode</c> case: the generated decoders (<see cref="TpLlama"/>: GQA rotary; <see cref="TpGpt"/>: MHA,
    /// checkpointed layers, tied head) built with tensor-parallel options decode with a per-rank KV cache holding only the rank's
    /// key/value heads. Greedy output of a left-padded batch equals the whole model's token for token; the prefill's logits equal
    /// the whole model's; each rank's cache is <c>KvCache.Bytes</c> of <c>max(kvHeads/t, 1)</c> heads, the memory model's
    /// KV-cache term for an inference scenario at the same degree. Options with sequence parallelism are refused with a message.
    /// </summary>
    internal static class GeneratedDecodeCase
    {
        private const int NewTokens = 6;

        public static void Run(ProcessGroup world, Checks checks)
        {
            var config = new TpConfig();
            Decode(world, checks, config, "Llama (GQA, rotary)", () => new TpLlama(config), o => new TpLlama(config, tensorParallel: o),
                TpLlama.DescribeModel(config), config.KvHeads);
            Decode(world, checks, config, "GPT-2 (MHA, checkpointed, tied head)", () => new TpGpt(config), o => new TpGpt(config, tensorParallel: o),
                TpGpt.DescribeModel(config), config.Heads);
            RefusesSequenceParallel(world, checks, config);
        }

        private static void Decode<TModel>(ProcessGroup world, Checks checks, TpConfig config, string what, Func<TModel> whole,
            Func<TensorParallelOptions, TModel> sharded, ModelSpec spec, long kvHeads)
            where TModel : nn.Module<Tensor, Tensor>, ICachedLanguageModel
        {
            using var scope = NewDisposeScope();
            manual_seed(41);
            var reference = whole();
            var model = sharded(new TensorParallelOptions(world, seed: 3));
            TensorParallelState.LoadFull(model, Compare.State(reference));
            reference.eval();
            model.eval();
            // Two prompts of different lengths: the batch is left-padded, so positions and the padding mask are exercised too.
            var prompts = new[] { new long[] { 5, 17, 33, 2, 60, 11, 9 }, new long[] { 40, 3, 21 } };
            var options = new GenerationOptions { MaxNewTokens = NewTokens, PadToken = 0 };
            var expected = TextGenerator.Generate(reference, prompts, options);
            var actual = TextGenerator.Generate(model, prompts, options);
            if (world.Rank == 0)
                Console.WriteLine($"{what} at degree {world.Size}: greedy " + string.Join(" | ", actual.Tokens.Select(r => string.Join(" ", r))));
            for (var row = 0; row < prompts.Length; row++)
                checks.True(expected.Tokens[row].SequenceEqual(actual.Tokens[row]),
                    $"{what}: greedy row {row} at degree {world.Size}: [{string.Join(" ", actual.Tokens[row])}], whole model [{string.Join(" ", expected.Tokens[row])}]");

            // The cached prefill's logits, against the whole model's cached prefill.
            const long Batch = 1, MaxLength = 16;
            var tokens = tensor(prompts[0]).unsqueeze(0);
            var positions = arange(tokens.shape[1], dtype: ScalarType.Int64).unsqueeze(0);
            var padding = ones_like(tokens);
            using (var wholeCache = new KvCache(reference.CacheOptions(Batch, MaxLength)))
            using (var cache = new KvCache(model.CacheOptions(Batch, MaxLength)))
            {
                var want = reference.Forward(tokens, wholeCache, positions, padding);
                var got = model.Forward(tokens, cache, positions, padding);
                Compare.Close(checks, want, got, $"{what}: cached prefill logits at degree {world.Size}");

                // Each rank caches only its key/value heads, and that is the memory model's per-rank KV cache.
                var mine = model.CacheOptions(Batch, MaxLength);
                var kvPerRank = Math.Max(kvHeads / world.Size, 1);
                checks.True(mine.KvHeads == kvPerRank, $"{what}: this rank caches {mine.KvHeads} key/value heads, max(kvHeads/t, 1) = {kvPerRank}");
                checks.True(cache.AllocatedBytes == KvCache.Bytes(mine), $"{what}: the rank's cache allocated {cache.AllocatedBytes} B, KvCache.Bytes = {KvCache.Bytes(mine)}");
                var scenario = new ScenarioSpec(0, Workload.Inference, MaxLength, Batch, Optimizer.AdamW) { TensorParallel = world.Size };
                var estimated = MemoryModel.Estimate(spec, scenario, DeviceProfile.Cpu).Term(MemoryTerms.KvCache);
                checks.True(estimated == cache.AllocatedBytes, $"{what}: the memory model's per-rank KV cache at TP {world.Size} is {estimated} B, the rank allocated {cache.AllocatedBytes} B");
                checks.True(world.Size == 1 || cache.AllocatedBytes < wholeCache.AllocatedBytes, $"{what}: the rank's cache ({cache.AllocatedBytes} B) is smaller than the whole model's ({wholeCache.AllocatedBytes} B)");
            }
        }

        private static void RefusesSequenceParallel(ProcessGroup world, Checks checks, TpConfig config)
        {
            if (world.Size == 1)
                return;
            using var scope = NewDisposeScope();
            var model = new TpLlama(config, tensorParallel: new TensorParallelOptions(world, sequenceParallel: true, seed: 3));
            model.eval();
            try
            {
                model.Generate(new[] { new long[] { 1, 2 } }, new GenerationOptions { MaxNewTokens = 1 });
                checks.True(false, "decoding a sequence-parallel model is refused");
            }
            catch (InvalidOperationException e)
            {
                checks.True(e.Message.Contains("sequenceParallel: false", StringComparison.Ordinal), $"decoding a sequence-parallel model is refused with a remedy: {e.Message}");
            }
        }
    }
}
