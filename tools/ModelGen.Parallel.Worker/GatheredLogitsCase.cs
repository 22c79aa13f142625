using System;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using ModelGen.Optimizers;
using static TorchSharp.torch;

namespace ModelGen.Parallel.Worker
{
    /// <summary>
    /// The <c>gathered-logits</c> case (any rank count): the generated <c>CreateTraining</c> of a plan whose head is vocab-parallel
    /// (<see cref="TpDpLlama"/>, TP 2 × DP 2, no <c>GatheredLogits</c>) refuses a loss of the caller's own at start-up, before any
    /// process group or weight exists, with a message naming the opt-in; left out, the same call sets up the vocab-parallel loss (run
    /// by <c>generated-train</c>). The opted-in plan training with a loss of its own is <c>TpPlannedLlama</c> in <c>generated</c>.
    /// </summary>
    internal static class GatheredLogitsCase
    {
        public static void Run(ProcessGroup world, Checks checks)
        {
            var config = new TpConfig();
            Func<Tensor, Tensor, Tensor> loss = (output, target) => nn.functional.cross_entropy(output.flatten(0, 1), target.flatten());
            try
            {
                // The analyzers report this call (MG0220, an error); suppressed here because the run-time refusal is what is tested.
#pragma warning disable MG0220
                using var training = TpDpLlama.CreateTraining(config, world, (p, s) => new AdamW(p, learningRate: 0.01, settings: s), loss);
#pragma warning restore MG0220
                checks.True(false, "CreateTraining of a vocab-parallel plan without GatheredLogits accepted a loss of its own");
            }
            catch (ArgumentException refused)
            {
                checks.True(refused.ParamName == "loss", $"the refusal names the loss parameter ({refused.ParamName})");
                foreach (var part in new[] { "TpDpLlama.CreateTraining was given a loss", "splits the vocabulary over 2 tensor-parallel ranks",
                             "gathered on every rank", "[ParallelPlan(..., GatheredLogits = true)]", "MG0220" })
                    checks.True(refused.Message.Contains(part, StringComparison.Ordinal), $"the refusal says '{part}': {refused.Message}");
            }
            checks.True(TpPlannedLlama.TrainingPlan.TensorParallel == 2, "the opted-in plan is tensor-parallel");
        }
    }
}
