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
    /// The <c>master-weights</c> case (2 ranks, TP 2): the tiny Llama-like stack with 16-bit parameters trains 5 steps of ModelGen's
    /// AdamW with fp32 master weights (bf16), and with fp32 masters and a <see cref="LossScaler"/> (fp16), equal to the same model
    /// unsharded in one process. A control run of the TP model without master copies must fail the same weight check.
    /// </summary>
    internal static class MasterWeightsCase
    {
        private const int Steps = 5, Rows = 4;

        /// <summary>
        /// How far apart the TP and single-process weights may end, as a share of how far training moved them. Both runs round
        /// their gradients to 16 bits in a different summation order, and AdamW turns a near-zero gradient's rounding noise into an
        /// lr-sized step of either sign, so a few weights differ by up to 2·lr per step (the per-element bound below); summed over
        /// all weights it stays small (measured 0.43 % bf16, 0.05 % fp16), while a run without fp32 masters loses every update
        /// below half a rounding step (measured 6.3 % bf16; NaN fp16). 2 % lies between, 4× above the bf16 run.
        /// </summary>
        private const double MaxDrift = 0.02;

        public static void Run(ProcessGroup world, Checks checks)
        {
            if (world.Size != 2)
            {
                checks.True(false, $"master-weights needs 2 ranks (TP 2), not {world.Size}");
                return;
            }
            // lr is chosen so that an update is below half a rounding step of a weight near 1 (the RmsNorm weights) in the 16-bit
            // type: without an fp32 master the update is lost, with one it accumulates over the 5 steps.
            Train(world, checks, ScalarType.BFloat16, learningRate: 3e-3, ulp: Math.Pow(2, -7), lossTolerance: 2e-2);
            Train(world, checks, ScalarType.Float16, learningRate: 2e-4, ulp: Math.Pow(2, -10), lossTolerance: 4e-3);
        }

        private static void Train(ProcessGroup world, Checks checks, ScalarType dtype, double learningRate, double ulp, double lossTolerance)
        {
            var what = dtype == ScalarType.BFloat16 ? "bf16, fp32 masters" : "fp16, fp32 masters, loss scaling";
            manual_seed(41);
            using var reference = new ReferenceLm(Flavor.Llama);
            // Cloned: converting the module to 16 bits disposes its fp32 tensors.
            var initial = Compare.State(reference).ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
            reference.to(dtype);
            var start = reference.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
            var expected = Fit(reference, dtype, learningRate, masters: true, (t, y) => reference.Loss(t, y));
            var (actual, trained) = FitParallel(world, initial, dtype, learningRate, masters: true);

            checks.True(expected[^1] < expected[0], $"{what}: the reference learns: loss {expected[0]:F4} → {expected[^1]:F4}");
            for (var s = 0; s < Steps; s++)
                checks.True(Math.Abs(actual[s] - expected[s]) <= lossTolerance * Math.Max(1, Math.Abs(expected[s])),
                    $"{what}: step {s}: loss {actual[s]:F6}, single process {expected[s]:F6}");
            foreach (var (name, p) in reference.named_parameters())
                Compare.Close(checks, p, trained[name], $"{what}: {name} after {Steps} steps", atol: 2 * Steps * learningRate, rtol: ulp);
            var drift = Drift(reference, start, trained);
            checks.True(drift <= MaxDrift, $"{what}: weights differ from the single process by {drift:P1} of how far training moved them");

            // Control: the same TP run without master copies loses the small updates, and the drift check sees it.
            var (_, unmastered) = FitParallel(world, initial, dtype, learningRate, masters: false);
            var controlDrift = Drift(reference, start, unmastered);
            checks.True(!(controlDrift <= MaxDrift), $"{what}: control without fp32 masters drifts {controlDrift:P1} (must exceed {MaxDrift:P0}; NaN counts: pure fp16 AdamW divides 0 by an eps that underflows)");
            if (world.Rank == 0)
                Console.WriteLine($"{what}: drift {drift:P2}, without masters {controlDrift:P2}; loss curve " +
                    string.Join(" ", actual.Select(l => l.ToString("F4", System.Globalization.CultureInfo.InvariantCulture))));
        }

        private static (double[] Losses, Dictionary<string, Tensor> Trained) FitParallel(
            ProcessGroup world, IReadOnlyDictionary<string, Tensor> initial, ScalarType dtype, double learningRate, bool masters)
        {
            using var model = new ParallelLm(Flavor.Llama, new TensorParallelOptions(world, sequenceParallel: false, seed: 1));
            TensorParallelState.LoadFull(model, initial);
            model.to(dtype);
            var losses = Fit(model, dtype, learningRate, masters, (t, y) => model.Loss(t, y));
            return (losses, TensorParallelState.GatherFull(model, world));
        }

        private static double[] Fit(nn.Module model, ScalarType dtype, double learningRate, bool masters, Func<Tensor, Tensor, Tensor> loss)
        {
            var losses = new double[Steps];
            var scaler = dtype == ScalarType.Float16 ? new LossScaler(initialScale: 1024) : null;
            using var optimizer = new AdamW(model.parameters(), learningRate: learningRate, weightDecay: 0.1,
                settings: new OptimizerSettings { Fp32MasterWeights = masters });
            for (var s = 0; s < Steps; s++)
            {
                using var scope = NewDisposeScope();
                var (tokens, targets) = Batch(s);
                var value = loss(tokens, targets);
                BackwardFailures.Backward(scaler is null ? value : scaler.Scale(value));
                optimizer.Step(scaler);
                losses[s] = value.to_type(ScalarType.Float32).item<float>();
            }
            return losses;
        }

        /// <summary>Σ|trained − reference| over Σ|reference − start|: how far apart the runs are, relative to how far training moved.</summary>
        private static double Drift(nn.Module reference, IReadOnlyDictionary<string, Tensor> start, IReadOnlyDictionary<string, Tensor> trained)
        {
            double apart = 0, moved = 0;
            foreach (var (name, p) in reference.named_parameters())
            {
                var expected = p.detach().to_type(ScalarType.Float64);
                apart += (trained[name].to_type(ScalarType.Float64) - expected).abs().sum().item<double>();
                moved += (expected - start[name].to_type(ScalarType.Float64)).abs().sum().item<double>();
            }
            return apart / moved;
        }

        private static (Tensor Tokens, Tensor Targets) Batch(int step)
        {
            using var generator = new Generator((ulong)(3000 + step));
            var tokens = randint(TinySizes.Vocab, new long[] { Rows, 8 }, generator: generator);
            return (tokens, (tokens + 1).remainder(TinySizes.Vocab));
        }
    }
}
