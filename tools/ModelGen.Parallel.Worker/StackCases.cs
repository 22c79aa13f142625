using System.Linq;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Parallel.Worker
{
    /// <summary>Tiny Llama-like and GPT-2-like stacks: loss and every gradient equal the unsharded stack's.</summary>
    internal static class StackCases
    {
        public static void Run(ProcessGroup world, Checks checks)
        {
            foreach (var flavor in new[] { Flavor.Llama, Flavor.Gpt2 })
            {
                manual_seed(21);
                using var reference = new ReferenceLm(flavor);
                var tokens = randint(TinySizes.Vocab, new long[] { 2, 8 });
                var targets = randint(TinySizes.Vocab, new long[] { 2, 8 });
                var lossR = reference.Loss(tokens, targets);
                lossR.backward();
                foreach (var sp in new[] { false, true })
                    foreach (var checkpoint in new[] { false, true })
                    {
                        using var scope = NewDisposeScope();
                        var what = $"{flavor}{(sp ? " sequence-parallel" : "")}{(checkpoint ? " checkpointed" : "")}";
                        using var model = new ParallelLm(flavor, new TensorParallelOptions(world, sp, seed: 5), checkpoint);
                        TensorParallelState.LoadFull(model, Compare.State(reference));
                        var loss = model.Loss(tokens, targets);
                        Compare.Close(checks, lossR, loss, $"{what}: loss");
                        BackwardFailures.Backward(loss);
                        Compare.Gradients(checks, reference, model, world, what);
                    }

                // bf16 weights and activations (the precision policy's compute dtype): collectives run in bf16, the
                // cross-entropy in fp32. Sums in another order round differently, so the bound is bf16's (8 bits of mantissa).
                {
                    using var scope = NewDisposeScope();
                    manual_seed(21);
                    using var half = new ReferenceLm(flavor);
                    half.to(ScalarType.BFloat16);
                    var lossH = half.Loss(tokens, targets);
                    lossH.backward();
                    using var model = new ParallelLm(flavor, new TensorParallelOptions(world, sequenceParallel: true, seed: 5));
                    model.to(ScalarType.BFloat16);
                    TensorParallelState.LoadFull(model, Compare.State(half));
                    var loss = model.Loss(tokens, targets);
                    checks.True(model.parameters().All(p => p.dtype == ScalarType.BFloat16), $"{flavor} bf16: every shard is bf16");
                    Compare.Close(checks, lossH.to(ScalarType.Float32), loss.to(ScalarType.Float32), $"{flavor} bf16 sequence-parallel: loss", atol: 0.05, rtol: 0.02);
                    BackwardFailures.Backward(loss);
                    Compare.Gradients(checks, half, model, world, $"{flavor} bf16 sequence-parallel", atol: 0.05, rtol: 0.05);
                }
            }
        }
    }
}
