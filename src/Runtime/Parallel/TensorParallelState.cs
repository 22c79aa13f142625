using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    /// <summary>
    /// Moves state between a tensor-parallel model and full (unsharded) tensors: a full state_dict loads into the model with
    /// each rank copying only its slice, and the shards gather back into full tensors, so a checkpoint written at one degree
    /// loads at another.
    /// </summary>
    public static class TensorParallelState
    {
        /// <summary>
        /// How many of the <paramref name="degree"/> tensor-parallel ranks hold the same values as each parameter of
        /// <paramref name="model"/>, for <see cref="Optimizers.OptimizerSettings.TensorParallelCopies"/>: a slice's replicas (1, or
        /// the ranks sharing a key/value head), <paramref name="degree"/> for a parameter held whole by every rank.
        /// </summary>
        /// <param name="model">A model built from tensor-parallel modules.</param>
        /// <param name="degree">The tensor-parallel degree.</param>
        public static Func<TorchSharp.Modules.Parameter, int> CopiesOf(nn.Module model, int degree)
        {
            ArgumentNullException.ThrowIfNull(model);
            var specs = Specs(model);
            var copies = new Dictionary<TorchSharp.Modules.Parameter, int>(ReferenceEqualityComparer.Instance);
            foreach (var (name, parameter) in model.named_parameters())
                copies[parameter] = specs.TryGetValue(name, out var spec) ? spec.Replicas : degree;
            return parameter => copies.TryGetValue(parameter, out var count) ? count : degree;
        }

        /// <summary>The shard spec of every sharded parameter of <paramref name="model"/>, by its full state_dict name.</summary>
        /// <param name="model">A model built from tensor-parallel modules.</param>
        /// <returns>Sharded parameters only; the others are whole on every rank.</returns>
        public static IReadOnlyDictionary<string, ShardSpec> Specs(nn.Module model)
        {
            ArgumentNullException.ThrowIfNull(model);
            var specs = new Dictionary<string, ShardSpec>();
            foreach (var (prefix, module) in model.named_modules().Prepend(("", model)))
                if (module is ITensorParallelModule sharded)
                    foreach (var (name, spec) in sharded.Shards)
                        specs[prefix.Length == 0 ? name : prefix + "." + name] = spec;
            return specs;
        }

        /// <summary>
        /// Copies <paramref name="full"/> into <paramref name="model"/>'s parameters: a sharded one takes its slice (a view, so nothing
        /// full is copied), a replicated one the whole tensor. A <see cref="QuantizedParallelLinear"/> (a sharded quantized Linear, or a
        /// projection of a quantized TensorParallelAttention / TensorParallelFeedForward) given its full float <c>weight</c> (and
        /// <c>bias</c>) under its path quantizes its slice of them, so a full Hugging Face state_dict loads into a quantized model.
        /// </summary>
        /// <param name="model">A model built from tensor-parallel modules.</param>
        /// <param name="full">Full tensors by state_dict name (e.g. the unsharded model's <c>state_dict()</c>).</param>
        /// <exception cref="ArgumentException">A parameter is missing from <paramref name="full"/>, or a shape does not match.</exception>
        public static void LoadFull(nn.Module model, IReadOnlyDictionary<string, Tensor> full)
        {
            ArgumentNullException.ThrowIfNull(model);
            ArgumentNullException.ThrowIfNull(full);
            var specs = Specs(model);
            using var noGrad = no_grad();
            var quantized = new List<string>();
            foreach (var (path, module) in model.named_modules())
            {
                if (module is QuantizedParallelLinear q && full.TryGetValue(path + ".weight", out var weight))
                {
                    q.LoadFull(weight, full.TryGetValue(path + ".bias", out var bias) ? bias : null);
                    quantized.Add(path + ".");
                }
            }
            foreach (var (name, parameter) in model.named_parameters())
            {
                if (quantized.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal)))
                    continue; // quantized from the full weight above
                if (!full.TryGetValue(name, out var source))
                    throw new ArgumentException($"The full state_dict has no '{name}'.", nameof(full));
                var slice = specs.TryGetValue(name, out var spec) ? Shard.Slice(source, spec) : source;
                if (!slice.shape.SequenceEqual(parameter.shape))
                    throw new ArgumentException($"'{name}': the full tensor [{string.Join(", ", source.shape)}] gives a slice [{string.Join(", ", slice.shape)}], but this rank holds [{string.Join(", ", parameter.shape)}].", nameof(full));
                parameter.copy_(slice);
            }
        }

        /// <summary>
        /// Gathers every parameter (or, with <paramref name="gradients"/>, every gradient) back to its full tensor on every rank
        /// of <paramref name="group"/>. A collective: every rank of the group must call it.
        /// </summary>
        /// <param name="model">A model built from tensor-parallel modules.</param>
        /// <param name="group">The tensor-parallel group the model was built with.</param>
        /// <param name="gradients">Gather <c>grad</c> instead of the values (zeros where a parameter has none).</param>
        /// <returns>Full tensors by state_dict name, new tensors the caller owns.</returns>
        public static Dictionary<string, Tensor> GatherFull(nn.Module model, ProcessGroup group, bool gradients = false)
        {
            ArgumentNullException.ThrowIfNull(model);
            ArgumentNullException.ThrowIfNull(group);
            var specs = Specs(model);
            var result = new Dictionary<string, Tensor>();
            using var noGrad = no_grad();
            foreach (var (name, parameter) in model.named_parameters())
            {
                var value = gradients ? parameter.grad ?? zeros_like(parameter) : (Tensor)parameter;
                if (!specs.TryGetValue(name, out var spec))
                {
                    result[name] = value.detach().clone();
                    continue;
                }
                using var gathered = Collective.AllGather(value.detach(), spec.Dim, group);
                // Replicated slices arrive once per replica: keep the first of each run of equal slices.
                var pieces = gathered.chunk(group.Size, spec.Dim).Where((_, i) => i % spec.Replicas == 0).ToArray();
                result[name] = cat(pieces, spec.Dim);
                foreach (var piece in gathered.chunk(group.Size, spec.Dim)) piece.Dispose();
            }
            return result;
        }
    }
}
