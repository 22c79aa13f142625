using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
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
            }
        }
    }
}
