using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using ModelGen.Optimizers;
using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>;

namespace ModelGen.Parallel.Worker
{
    /// <summary>
    /// The <c>generated</c> case: models the generator built from <c>[Shard]</c> (GeneratedModels.cs), constructed with
    /// <c>TensorParallelOptions</c> over the world, against the same generated classes built whole (no options) with the whole
    /// model's weights loaded slice by slice: logits, loss and every parameter's gradient equal, with and without sequence
    /// parallelism (the GPT-2 layers are checkpointed, its head tied). At 2 ranks, <c>TpPlannedLlama.CreateTraining</c> (plan:
    /// TP 2, sequence parallel) trains 3 AdamW steps with the same losses and weights as the whole model in one process.
    /// </summary>
    internal static class GeneratedCases
    {
        private const long Batch = 2, Sequence = 8;

        public static void Run(ProcessGroup world, Checks checks)
        {
            var config = new TpConfig();
            foreach (var sequenceParallel in new[] { false, true })
            {
                var what = sequenceParallel ? " with sequence parallelism" : "";
                Check(world, checks, config, "generated Llama" + what, sequenceParallel, () => new TpLlama(config), o => new TpLlama(config, tensorParallel: o));
                Check(world, checks, config, "generated GPT-2 (checkpointed, tied head)" + what, sequenceParallel, () => new TpGpt(config), o => new TpGpt(config, tensorParallel: o));
            }
            VocabParallelLoss(world, checks, config, "generated Llama", () => new TpLlama(config), o => new TpLlama(config, tensorParallel: o));
            VocabParallelLoss(world, checks, config, "generated GPT-2 (tied head)", () => new TpGpt(config), o => new TpGpt(config, tensorParallel: o));
            DropoutCase.Run(world, checks); // DropoutCase.cs
            SelectiveCase.Run(world, checks); // SelectiveCase.cs
            if (world.Size == TpPlannedLlama.TrainingPlan.TensorParallel)
                Train(world, checks, config);
        }

        private static void Check(ProcessGroup world, Checks checks, TpConfig config, string what, bool sequenceParallel,
            Func<Module> whole, Func<TensorParallelOptions, Module> sharded)
        {
            using var scope = NewDisposeScope();
            manual_seed(31);
            var reference = whole();
            var model = sharded(new TensorParallelOptions(world, sequenceParallel, seed: 7));
            TensorParallelState.LoadFull(model, Compare.State(reference));
            var (tokens, targets) = Tokens(config, 0);
            var expected = reference.call(tokens);
            Loss(expected, targets, config).backward();
            var actual = model.call(tokens);
            Compare.Close(checks, expected, actual, $"{what}: logits");
            BackwardFailures.Backward(Loss(actual, targets, config));
            Compare.Gradients(checks, reference, model, world, what);
            var local = model.parameters().Sum(p => p.numel());
            var full = reference.parameters().Sum(p => p.numel());
            checks.True(world.Size == 1 || local < full, $"{what}: this rank holds {local} of the {full} parameters");
        }

        /// <summary>
        /// With <see cref="TensorParallelOptions.VocabParallelLogits"/> the model's head keeps this rank's V/t logits: the
        /// vocab-parallel cross-entropy on them gives the whole model's loss and gradients.
        /// </summary>
        private static void VocabParallelLoss(ProcessGroup world, Checks checks, TpConfig config, string what,
            Func<Module> whole, Func<TensorParallelOptions, Module> sharded)
        {
            using var scope = NewDisposeScope();
            manual_seed(37);
            var reference = whole();
            var options = new TensorParallelOptions(world, seed: 7) { VocabParallelLogits = true };
            var model = sharded(options);
            TensorParallelState.LoadFull(model, Compare.State(reference));
            var (tokens, targets) = Tokens(config, 9);
            var expected = Loss(reference.call(tokens), targets, config);
            expected.backward();
            var logits = model.call(tokens);
            checks.True(logits.shape[^1] == config.Vocab / world.Size, $"{what}: the head returns {logits.shape[^1]} logits per position, V/t = {config.Vocab / world.Size}");
            var loss = VocabParallelCrossEntropy.Loss(logits, targets, options.Rank * (config.Vocab / options.Degree), options.Group).mean();
            Compare.Close(checks, expected, loss, $"{what}: vocab-parallel loss");
            BackwardFailures.Backward(loss);
            Compare.Gradients(checks, reference, model, world, what + " (vocab-parallel loss)");
        }

        private static void Train(ProcessGroup world, Checks checks, TpConfig config)
        {
            const int Steps = 3;
            using var training = TpPlannedLlama.CreateTraining(config, world,
                (parameters, settings) => new AdamW(parameters, learningRate: 0.01, settings: settings),
                (output, target) => Loss(output, target, config), seed: 3);
            var reference = new TpPlannedLlama(config);
            reference.load_state_dict(TensorParallelState.GatherFull(training.Model, world));
            using var optimizer = new AdamW(reference.parameters(), learningRate: 0.01);
            for (var s = 0; s < Steps; s++)
            {
                using var scope = NewDisposeScope();
                var (tokens, targets) = Tokens(config, s + 1);
                var expected = Loss(reference.call(tokens), targets, config);
                expected.backward();
                optimizer.Step();
                var loss = training.Step(tokens, targets);
                var want = expected.item<float>();
                checks.True(Math.Abs(loss - want) <= 1e-5 * Math.Max(1, Math.Abs(want)), $"CreateTraining (TP 2, SP): step {s} loss {loss} equals the whole model's ({want})");
            }
            var trained = TensorParallelState.GatherFull(training.Model, world);
            foreach (var (name, parameter) in reference.named_parameters())
                Compare.Close(checks, parameter.detach(), trained[name], $"CreateTraining (TP 2, SP): {name} after {Steps} steps", atol: 1e-5, rtol: 1e-4);
        }

        private static (Tensor Tokens, Tensor Targets) Tokens(TpConfig config, int step)
        {
            using var generator = new Generator((ulong)(100 + step));
            return (randint(config.Vocab, new[] { Batch, Sequence }, generator: generator),
                    randint(config.Vocab, new[] { Batch, Sequence }, generator: generator));
        }

        private static Tensor Loss(Tensor logits, Tensor targets, TpConfig config) =>
            nn.functional.cross_entropy(logits.reshape(-1, config.Vocab), targets.reshape(-1));
    }
}
