using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    /// <summary>
    /// A tensor-parallel model in <see cref="ShardedCheckpoint"/>'s format: each rank writes only its own slices, as ranges of the
    /// full tensors, into one file per rank; the index and the merge on load are the sharded checkpoint's, so the checkpoint reads
    /// back as a full state_dict at any degree (<see cref="TensorParallelState.LoadFull"/> then slices it for the new degree).
    /// </summary>
    public static class TensorParallelCheckpoint
    {
        /// <summary>
        /// This rank's slices as ranges of the full flattened tensors: a row split (dimension 0) is one range, a column split one
        /// range per row. A slice several ranks hold is written by the first of them; a whole parameter by rank 0 of the group.
        /// </summary>
        /// <param name="model">A model built from tensor-parallel modules.</param>
        /// <param name="group">Its tensor-parallel group.</param>
        /// <returns>What <see cref="ShardedCheckpoint.Save"/> writes for this rank.</returns>
        public static IReadOnlyList<TensorSlice> ShardedState(nn.Module model, ProcessGroup group)
        {
            ArgumentNullException.ThrowIfNull(model);
            ArgumentNullException.ThrowIfNull(group);
            var specs = TensorParallelState.Specs(model);
            var slices = new List<TensorSlice>();
            foreach (var (name, parameter) in model.named_parameters())
            {
                var values = parameter.detach();
                if (!specs.TryGetValue(name, out var spec))
                {
                    if (group.Rank == 0) slices.Add(new TensorSlice(name, values.shape, values.dtype, 0, values.reshape(-1)));
                    continue;
                }
                if (group.Rank % spec.Replicas != 0) continue;
                var full = (long[])values.shape.Clone();
                full[spec.Dim] = spec.FullLength;
                if (spec.Dim == 0)
                {
                    var inner = values.shape.Skip(1).Aggregate(1L, (a, b) => a * b);
                    slices.Add(new TensorSlice(name, full, values.dtype, spec.Start * inner, values.reshape(-1)));
                }
                else if (spec.Dim == 1 && values.dim() == 2)
                    for (long r = 0; r < values.shape[0]; r++)
                        slices.Add(new TensorSlice(name, full, values.dtype, r * spec.FullLength + spec.Start, values[r]));
                else
                    throw new NotSupportedException($"'{name}' is split along dimension {spec.Dim} of a {values.dim()}-dimensional tensor, which the checkpoint layout does not cover.");
            }
            // A QuantizedParallelLinear's buffers are this rank's quantized slice, not a whole tensor: they are left out (the frozen
            // weights come back from the float weights through TensorParallelState.LoadFull), never written as if rank 0's were whole.
            var quantized = model.named_modules().Where(m => m.module is QuantizedParallelLinear).Select(m => m.name + ".").ToList();
            foreach (var (name, buffer) in model.named_buffers())
                if (group.Rank == 0 && !quantized.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal)))
                    slices.Add(new TensorSlice(name, buffer.shape, buffer.dtype, 0, buffer.detach().reshape(-1)));
            return slices;
        }

        /// <summary>Writes the model's checkpoint into <paramref name="directory"/>; every rank of <paramref name="group"/> must call it.</summary>
        /// <param name="directory">The checkpoint folder (shared by the ranks).</param>
        /// <param name="model">A model built from tensor-parallel modules.</param>
        /// <param name="group">Its tensor-parallel group (with data parallelism, one group writes: the others hold the same state).</param>
        public static void Save(string directory, nn.Module model, ProcessGroup group) =>
            ShardedCheckpoint.Save(directory, ShardedState(model, group), group);

        /// <summary>
        /// Loads a checkpoint written at any degree: merges it into full tensors and copies this rank's slices. The merge holds the
        /// whole state_dict in host memory for the duration of the call.
        /// </summary>
        /// <param name="directory">The checkpoint folder.</param>
        /// <param name="model">A model built from tensor-parallel modules, at any degree.</param>
        public static void Load(string directory, nn.Module model)
        {
            var full = ShardedCheckpoint.LoadStateDict(directory);
            try
            {
                TensorParallelState.LoadFull(model, full);
            }
            finally
            {
                foreach (var tensor in full.Values) tensor.Dispose();
            }
        }
    }
}
