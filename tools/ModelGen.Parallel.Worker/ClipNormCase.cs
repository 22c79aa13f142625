using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using ModelGen.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Parallel.Worker
{
    /// <summary>
    /// The <c>clip-norm</c> case (TP = world size, 2 or 4 ranks): the tiny Llama-like (GQA: at 4 ranks each key/value head is held by
    /// 2 ranks) and GPT-2-like stacks (replicated row-parallel biases and norms) train 4 AdamW steps with gradients clipped to a
    /// norm below theirs. Every step's global gradient norm equals the single process's (each slice counted once, each replicated
    /// tensor once: <see cref="TensorParallelState.CopiesOf"/>), and so do the losses and the gathered weights. A control that
    /// counts every parameter once per rank gets another norm, and clipping without the copies is refused.
    /// </summary>
    internal static class ClipNormCase
    {
        private const int Steps = 4, Rows = 4;
        private const double MaxNorm = 0.05, LearningRate = 1e-2;

        public static void Run(ProcessGroup world, Checks checks)
        {
            foreach (var flavor in new[] { Flavor.Llama, Flavor.Gpt2 })
                Train(world, checks, flavor);
            Refused(world, checks);
        }

        private static void Train(ProcessGroup world, Checks checks, Flavor flavor)
        {
            manual_seed(43);
            using var reference = new ReferenceLm(flavor);
            var initial = Compare.State(reference).ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
            var (expectedLosses, expectedNorms) = Fit(reference, settings: new OptimizerSettings { MaxGradientNorm = MaxNorm }, (t, y) => reference.Loss(t, y));
            checks.True(expectedNorms.All(n => n > MaxNorm), $"{flavor}: clipping is active in every step (norms {string.Join(", ", expectedNorms.Select(n => n.ToString("G4")))})");

            using var model = new ParallelLm(flavor, new TensorParallelOptions(world, sequenceParallel: false, seed: 1));
            TensorParallelState.LoadFull(model, initial);
            var settings = new OptimizerSettings { MaxGradientNorm = MaxNorm, TensorParallel = world, TensorParallelCopies = TensorParallelState.CopiesOf(model, world.Size) };
            var (losses, norms) = Fit(model, settings, (t, y) => model.Loss(t, y));
            for (var s = 0; s < Steps; s++)
            {
                checks.True(Math.Abs(norms[s] - expectedNorms[s]) <= 1e-4 * expectedNorms[s], $"{flavor}: step {s}: global gradient norm {norms[s]:G8}, single process {expectedNorms[s]:G8}");
                checks.True(Math.Abs(losses[s] - expectedLosses[s]) <= 1e-4 * Math.Max(1, Math.Abs(expectedLosses[s])), $"{flavor}: step {s}: loss {losses[s]:F6}, single process {expectedLosses[s]:F6}");
            }
            var trained = TensorParallelState.GatherFull(model, world);
            // Training moves weights by up to Steps·lr = 4e-2; AdamW divides each gradient by its own running size, so an element whose
            // gradient is near zero turns the two runs' different fp32 summation orders into visible differences: 1e-4 allows for
            // that. k_proj's bias has a gradient of exactly zero in exact arithmetic (softmax ignores a constant added to all of a
            // query's scores), so its updates are AdamW-normalized rounding noise of either sign, up to lr per step in each run.
            foreach (var (name, p) in reference.named_parameters())
                Compare.Close(checks, p, trained[name], $"{flavor}: {name} after {Steps} clipped steps",
                    atol: name.EndsWith("k_proj.bias", StringComparison.Ordinal) ? 2 * Steps * LearningRate : 1e-4, rtol: 1e-4);

            // Control: every parameter counted on every rank (replicated tensors t times) gives another norm, so the check can fail.
            using var control = new ParallelLm(flavor, new TensorParallelOptions(world, sequenceParallel: false, seed: 1));
            TensorParallelState.LoadFull(control, initial);
            var (_, wrong) = Fit(control, settings with { TensorParallelCopies = _ => 1 }, (t, y) => control.Loss(t, y));
            checks.True(!(Math.Abs(wrong[0] - expectedNorms[0]) <= 1e-3 * expectedNorms[0]),
                $"{flavor}: control counting replicated parameters once per rank: norm {wrong[0]:G6} against {expectedNorms[0]:G6} (must differ)");
        }

        private static void Refused(ProcessGroup world, Checks checks)
        {
            using var model = new ParallelLm(Flavor.Gpt2, new TensorParallelOptions(world, sequenceParallel: false, seed: 1));
            try
            {
                using var optimizer = new AdamW(model.parameters(), learningRate: LearningRate, settings: new OptimizerSettings { MaxGradientNorm = MaxNorm, TensorParallel = world });
                checks.True(false, "clipping under tensor parallelism without TensorParallelCopies was accepted");
            }
            catch (ArgumentException e)
            {
                checks.True(e.Message.Contains("TensorParallelCopies", StringComparison.Ordinal), $"the refusal names TensorParallelCopies: {e.Message}");
            }
        }

        private static (double[] Losses, double[] Norms) Fit(nn.Module model, OptimizerSettings settings, Func<Tensor, Tensor, Tensor> loss)
        {
            var losses = new double[Steps];
            var norms = new double[Steps];
            using var optimizer = new AdamW(model.parameters(), learningRate: LearningRate, weightDecay: 0.1, settings: settings);
            for (var s = 0; s < Steps; s++)
            {
                using var scope = NewDisposeScope();
                using var generator = new Generator((ulong)(5000 + s));
                var tokens = randint(TinySizes.Vocab, new long[] { Rows, 8 }, generator: generator);
                var value = loss(tokens, (tokens + 1).remainder(TinySizes.Vocab));
                BackwardFailures.Backward(value);
                optimizer.Step();
                losses[s] = value.item<float>();
                norms[s] = optimizer.LastGradientNorm;
            }
            return (losses, norms);
        }
    }
}
