using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using ModelGen.Inference;
using ModelGen.Memory;
using ModelGen.Quantization;
using ModelGen.Specs;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Parallel.Worker
{
    /// <summary>
    /// The <c>generated-quantized</c> case: the generated <see cref="TqLlama"/> (attention with NF4 projections, feed-forward with int4
    /// ones, both sharded) built with options over the world against the same class built at degree 1 (a one-rank group: the same
    /// full weights from <see cref="ShardedInit"/>, each projection quantized whole). Groups of 32 fall on the slice boundaries, so
    /// the ranks hold exactly the degree-1 codes: logits and every trainable gradient equal; greedy cached decoding is token for
    /// token the degree-1 model's; each rank's projection weights are quantized slices (no whole weight anywhere) and its stored
    /// bytes and KV cache equal the memory model's per-rank terms at <c>TensorParallel = t</c>.
    /// </summary>
    internal static class GeneratedQuantizedCase
    {
        private const long Batch = 2, Sequence = 8;

        public static void Run(ProcessGroup world, Checks checks)
        {
            using var scope = NewDisposeScope();
            var config = new TqConfig();
            using var alone = world.Split(world.Rank, 0);
            var reference = new TqLlama(config, tensorParallel: new TensorParallelOptions(alone, seed: 7));
            var model = new TqLlama(config, tensorParallel: new TensorParallelOptions(world, seed: 7));
            var what = $"generated quantized Llama at degree {world.Size}";

            var quantized = model.modules().OfType<QuantizedParallelLinear>().ToList();
            checks.True(quantized.Count == config.Layers * 7, $"{what}: {quantized.Count} quantized projections, 7 per layer");
            checks.True(quantized.All(q => q.Options.Degree == world.Size && (world.Size == 1 || q.Shard.in_features * q.Shard.out_features < q.InFeatures * q.OutFeatures)),
                $"{what}: every projection holds a quantized slice of its weight, never the whole");

            // Training-mode forward and backward: the trainable parameters are the embedding, norms, head and attention biases.
            manual_seed(51);
            var tokens = randint(config.Vocab, new long[] { Batch, Sequence });
            var weights = randn(Batch, Sequence, config.Vocab);
            var expected = reference.call(tokens);
            (expected * weights).sum().backward();
            var actual = model.call(tokens);
            Compare.Close(checks, expected, actual, $"{what}: logits");
            BackwardFailures.Backward((actual * weights).sum());
            var want = Normalized(TensorParallelState.GatherFull(reference, alone, gradients: true));
            var got = Normalized(TensorParallelState.GatherFull(model, world, gradients: true));
            checks.True(want.Keys.OrderBy(k => k).SequenceEqual(got.Keys.OrderBy(k => k)), $"{what}: the same trainable parameters at degree 1 and {world.Size}: [{string.Join(", ", got.Keys)}]");
            foreach (var (name, grad) in got)
                if (want.TryGetValue(name, out var reference1))
                    Compare.Close(checks, reference1, grad, $"{what}: grad of {name}");

            LoadsAFullFloatStateDict(world, alone, checks, config, reference, tokens, what);
            CheckpointRoundTrip(world, checks, config, tokens, what);

            reference.eval();
            model.eval();
            var prompts = new[] { new long[] { 5, 17, 33, 2, 60, 11, 9 }, new long[] { 40, 3, 21 } };
            var options = new GenerationOptions { MaxNewTokens = 6, PadToken = 0 };
            var greedyWant = TextGenerator.Generate(reference, prompts, options);
            var greedy = TextGenerator.Generate(model, prompts, options);
            for (var row = 0; row < prompts.Length; row++)
                checks.True(greedyWant.Tokens[row].SequenceEqual(greedy.Tokens[row]),
                    $"{what}: greedy row {row}: [{string.Join(" ", greedy.Tokens[row])}], degree 1 [{string.Join(" ", greedyWant.Tokens[row])}]");

            const long MaxLength = 16;
            var spec = TqLlama.DescribeModel(config);
            var scenario = new ScenarioSpec(0, Workload.Inference, MaxLength, 1, Optimizer.AdamW) { TensorParallel = world.Size };
            var estimate = MemoryModel.Estimate(spec, scenario, DeviceProfile.Cpu);
            using (var cache = new KvCache(model.CacheOptions(1, MaxLength)))
                checks.True(cache.AllocatedBytes == estimate.Term(MemoryTerms.KvCache),
                    $"{what}: the rank's KV cache allocated {cache.AllocatedBytes} B, the memory model's per-rank term is {estimate.Term(MemoryTerms.KvCache)} B");
            // Stored bytes: parameters and buffers (quantized codes, scales) as this rank holds them. The weights term also counts the
            // rotary tables (fp32 cos and sin of MaxLength × headDim per layer), which live outside the state_dict.
            var stored = model.parameters().Sum(p => p.numel() * p.ElementSize) + model.buffers().Sum(b => b.numel() * b.ElementSize);
            var rotary = 2L * MaxLength * (config.Hidden / config.Heads) * 4 * config.Layers;
            checks.True(stored + rotary == estimate.Term(MemoryTerms.Weights),
                $"{what}: this rank stores {stored} B of parameters and quantized buffers (+ {rotary} B rotary tables), the memory model's per-rank weights term is {estimate.Term(MemoryTerms.Weights)} B");
            if (world.Rank == 0)
                Console.WriteLine($"{what}: per-rank stored {stored} B, estimate {estimate.Term(MemoryTerms.Weights) - rotary} B; greedy " + string.Join(" | ", greedy.Tokens.Select(r => string.Join(" ", r))));
        }

        /// <summary>
        /// A full float state_dict in the Hugging Face layout (<c>q_proj.weight</c>, <c>q_proj.bias</c>…: the degree-1 model's
        /// dequantized weights) loads through <see cref="TensorParallelState.LoadFull"/> into models built with another seed at degree 1
        /// and at degree t: each rank quantizes its slices of the float weights, and the two give the same logits. (Quantizing a
        /// dequantized int4 weight again need not give the same codes, so the reference is the degree-1 load, not the original.)
        /// </summary>
        private static void LoadsAFullFloatStateDict(ProcessGroup world, ProcessGroup alone, Checks checks, TqConfig config, TqLlama reference, Tensor tokens, string what)
        {
            using var scope = NewDisposeScope();
            var full = new Dictionary<string, Tensor>();
            foreach (var (name, parameter) in reference.named_parameters())
                full[name.Replace(".shard.bias", ".bias", StringComparison.Ordinal)] = parameter.detach();
            foreach (var (path, module) in reference.named_modules())
                if (module is QuantizedParallelLinear q)
                    full[path + ".weight"] = q.Shard.Dequantize();
            checks.True(!full.Keys.Any(k => k.Contains(".shard.", StringComparison.Ordinal)), $"{what}: the float state_dict has the plain layout");
            var whole = new TqLlama(config, tensorParallel: new TensorParallelOptions(alone, seed: 99));
            var loaded = new TqLlama(config, tensorParallel: new TensorParallelOptions(world, seed: 99));
            TensorParallelState.LoadFull(whole, full);
            TensorParallelState.LoadFull(loaded, full);
            using var noGrad = no_grad();
            var expected = whole.call(tokens);
            Compare.Close(checks, expected, loaded.call(tokens), $"{what}: logits after loading a full float state_dict, against degree 1 loading it");
            // Quantizing the dequantized weights again stays within quantization noise of the original model.
            var drift = (expected - reference.call(tokens)).abs().max().item<float>();
            checks.True(drift < 0.1, $"{what}: the reloaded model's logits are within {drift} of the original's");
        }

        /// <summary>
        /// <see cref="TensorParallelCheckpoint"/> of a quantized model: the trainable parameters (biases in and out of the shards,
        /// norms, embedding, head) are written as ranges of their full tensors and load back; the quantized slices are not written
        /// (each rank's buffers are a slice, not a whole tensor), so a model built with the same seed resumes with the same logits.
        /// </summary>
        private static void CheckpointRoundTrip(ProcessGroup world, Checks checks, TqConfig config, Tensor tokens, string what)
        {
            using var scope = NewDisposeScope();
            var trained = new TqLlama(config, tensorParallel: new TensorParallelOptions(world, seed: 7));
            using (no_grad())
                foreach (var (name, parameter) in trained.named_parameters())
                    parameter.add_(0.01 * (name.Length % 7)); // a train-like change, the same on every rank
            var written = TensorParallelCheckpoint.ShardedState(trained, world).Select(s => s.Name).ToHashSet();
            var quantizedBuffers = trained.named_buffers().Select(b => b.name).Where(n => n.Contains(".shard.", StringComparison.Ordinal)).ToList();
            checks.True(quantizedBuffers.Count > 0 && !quantizedBuffers.Any(written.Contains), $"{what}: the checkpoint leaves out the {quantizedBuffers.Count} quantized slice buffers");
            using var id = tensor(new long[] { Random.Shared.NextInt64(1, long.MaxValue) });
            world.Broadcast(id);
            var directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"modelgen-tpq-{id[0].item<long>():x}");
            TensorParallelCheckpoint.Save(directory, trained, world);
            world.Barrier();
            var resumed = new TqLlama(config, tensorParallel: new TensorParallelOptions(world, seed: 7));
            TensorParallelCheckpoint.Load(directory, resumed);
            world.Barrier();
            if (world.Rank == 0) System.IO.Directory.Delete(directory, recursive: true);
            using var noGrad = no_grad();
            Compare.Close(checks, trained.call(tokens), resumed.call(tokens), $"{what}: logits after a checkpoint round trip");
        }

        // A key/value bias replicated over ranks lives outside the quantized shard ("k_proj.bias" instead of "k_proj.shard.bias").
        private static Dictionary<string, Tensor> Normalized(Dictionary<string, Tensor> gradients) =>
            gradients.ToDictionary(kv => kv.Key.Replace(".shard.bias", ".bias", StringComparison.Ordinal), kv => kv.Value);
    }

    /// <summary>
    /// The <c>generated-window</c> case: the generated <see cref="TwMistral"/>, whose sharded attention has a per-block
    /// <c>SlidingWindow</c> of 4, built with options against the same class built whole (plain <c>Attention</c> with the window),
    /// whole weights loaded slice by slice. Training logits and every gradient equal (the window masks the eager core); greedy cached
    /// decoding of prompts longer than the window is token for token the whole model's; the cached prefill's logits equal; each rank's
    /// KV cache holds its key/value heads at full length (a per-block window masks, it does not shorten the cache, as in the plain
    /// block) and equals the memory model's per-rank term.
    /// </summary>
    internal static class GeneratedWindowCase
    {
        public static void Run(ProcessGroup world, Checks checks)
        {
            using var scope = NewDisposeScope();
            var config = new TqConfig();
            manual_seed(61);
            var reference = new TwMistral(config);
            var model = new TwMistral(config, tensorParallel: new TensorParallelOptions(world, seed: 3));
            TensorParallelState.LoadFull(model, Compare.State(reference));
            var what = $"generated windowed decoder at degree {world.Size}";
            var windows = model.modules().OfType<TensorParallelAttention>().Select(a => a.SlidingWindow).ToList();
            checks.True(windows.Count == config.Layers && windows.All(w => w == 4), $"{what}: every sharded attention has the block's window 4: [{string.Join(", ", windows)}]");

            var tokens = randint(config.Vocab, new long[] { 2, 9 });
            var weights = randn(2, 9, config.Vocab);
            var expected = reference.call(tokens);
            (expected * weights).sum().backward();
            var actual = model.call(tokens);
            Compare.Close(checks, expected, actual, $"{what}: training logits");
            BackwardFailures.Backward((actual * weights).sum());
            Compare.Gradients(checks, reference, model, world, what);

            reference.eval();
            model.eval();
            var prompts = new[] { new long[] { 5, 17, 33, 2, 60, 11, 9 }, new long[] { 40, 3, 21 } };
            var options = new GenerationOptions { MaxNewTokens = 6, PadToken = 0 };
            var greedyWant = TextGenerator.Generate(reference, prompts, options);
            var greedy = TextGenerator.Generate(model, prompts, options);
            for (var row = 0; row < prompts.Length; row++)
                checks.True(greedyWant.Tokens[row].SequenceEqual(greedy.Tokens[row]),
                    $"{what}: greedy row {row}: [{string.Join(" ", greedy.Tokens[row])}], whole model [{string.Join(" ", greedyWant.Tokens[row])}]");
            if (world.Rank == 0)
                Console.WriteLine($"{what}: greedy " + string.Join(" | ", greedy.Tokens.Select(r => string.Join(" ", r))));

            const long MaxLength = 16;
            var prompt = tensor(prompts[0]).unsqueeze(0);
            var positions = arange(prompt.shape[1], dtype: ScalarType.Int64).unsqueeze(0);
            var padding = ones_like(prompt);
            using var wholeCache = new KvCache(reference.CacheOptions(1, MaxLength));
            using var cache = new KvCache(model.CacheOptions(1, MaxLength));
            Compare.Close(checks, ((ICachedLanguageModel)reference).Forward(prompt, wholeCache, positions, padding), ((ICachedLanguageModel)model).Forward(prompt, cache, positions, padding), $"{what}: cached prefill logits");
            // One more token through the caches: its query sees only the last 4 keys.
            var next = tensor(new long[] { 12 }).unsqueeze(0);
            var nextPosition = tensor(new long[] { prompt.shape[1] }).unsqueeze(0);
            Compare.Close(checks, ((ICachedLanguageModel)reference).Forward(next, wholeCache, nextPosition, ones_like(next)), ((ICachedLanguageModel)model).Forward(next, cache, nextPosition, ones_like(next)), $"{what}: cached step logits");

            var scenario = new ScenarioSpec(0, Workload.Inference, MaxLength, 1, Optimizer.AdamW) { TensorParallel = world.Size };
            var estimated = MemoryModel.Estimate(TwMistral.DescribeModel(config), scenario, DeviceProfile.Cpu).Term(MemoryTerms.KvCache);
            var kvPerRank = Math.Max(config.KvHeads / world.Size, 1);
            checks.True(model.CacheOptions(1, MaxLength).KvHeads == kvPerRank, $"{what}: this rank caches {kvPerRank} key/value heads");
            checks.True(cache.AllocatedBytes == estimated, $"{what}: the rank's KV cache allocated {cache.AllocatedBytes} B, the memory model's per-rank term is {estimated} B");
        }
    }
}
