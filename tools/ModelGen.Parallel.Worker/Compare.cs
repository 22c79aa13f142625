using System.Collections.Generic;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Parallel.Worker
{
    /// <summary>Comparisons of a tensor-parallel module with its unsharded reference.</summary>
    internal static class Compare
    {
        /// <summary>|actual − expected| ≤ 2e-5 + 1e-4·|expected| (float32 sums in a different order).</summary>
        public static void Close(Checks checks, Tensor expected, Tensor actual, string what, double atol = 2e-5, double rtol = 1e-4)
        {
            using var bound = expected.abs().to(ScalarType.Float64) * rtol + atol;
            checks.Within(expected.detach(), actual.detach(), bound, what);
        }

        /// <summary>Every parameter's gathered gradient equals the reference's gradient of the same name.</summary>
        public static void Gradients(Checks checks, nn.Module reference, nn.Module sharded, ProcessGroup group, string what, double atol = 2e-5, double rtol = 1e-4)
        {
            var gathered = TensorParallelState.GatherFull(sharded, group, gradients: true);
            var expected = reference.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            checks.True(gathered.Count == expected.Count, $"{what}: {gathered.Count} parameters, reference has {expected.Count}");
            foreach (var (name, grad) in gathered)
            {
                if (!expected.TryGetValue(name, out var parameter)) { checks.True(false, $"{what}: reference lacks '{name}'"); continue; }
                Close(checks, parameter.grad ?? zeros_like(parameter), grad, $"{what}: grad of {name}", atol, rtol);
            }
        }

        /// <summary>This rank's sequence shard of a <c>[batch, seq, …]</c> tensor.</summary>
        public static Tensor SequenceShard(Tensor full, ProcessGroup group)
        {
            var length = full.shape[1] / group.Size;
            return full.narrow(1, length * group.Rank, length);
        }

        /// <summary>The full state_dict of <paramref name="module"/>, by name.</summary>
        public static IReadOnlyDictionary<string, Tensor> State(nn.Module module) =>
            module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
    }
}
