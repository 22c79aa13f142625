using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Training
{
    /// <summary>
    /// A checkpoint written by many ranks: a folder with one file per rank (<c>rank-00003-of-00004.bin</c>, each rank's ranges of
    /// the state_dict tensors) and <c>index.json</c>, written last by rank 0, naming every file with its size and every tensor with
    /// its shape and dtype. A folder without its index is an incomplete save and is refused. The files merge into one state_dict
    /// whatever the world size that loads it, so a checkpoint written by N ranks loads on M.
    /// </summary>
    /// <remarks>Every file is written to a temporary name and renamed, so no reader ever sees a half-written file under its real name.</remarks>
    public static partial class ShardedCheckpoint
    {
        /// <summary>The name of the index, the file whose presence marks a complete checkpoint.</summary>
        public const string IndexFileName = "index.json";

        /// <summary>
        /// Writes this rank's <paramref name="slices"/> into <paramref name="directory"/> (shared by all ranks), then, once every rank
        /// has written, rank 0 writes the index. Every rank of <paramref name="group"/> must call it.
        /// </summary>
        /// <param name="directory">The checkpoint folder; created if missing. An index already there is removed first.</param>
        /// <param name="slices">This rank's state: <see cref="ZeroStage3.ShardedState(TrainingOptimizer)"/>, <see cref="ReplicatedState(nn.Module, ProcessGroup, TrainingOptimizer)"/> (with the optimizer state) or <see cref="ReplicatedState(nn.Module, ProcessGroup)"/>.</param>
        /// <param name="group">The ranks writing the checkpoint together.</param>
        public static void Save(string directory, IEnumerable<TensorSlice> slices, ProcessGroup group)
        {
            ArgumentException.ThrowIfNullOrEmpty(directory);
            ArgumentNullException.ThrowIfNull(slices);
            ArgumentNullException.ThrowIfNull(group);
            Directory.CreateDirectory(directory);
            group.Barrier();
            var index = Path.Combine(directory, IndexFileName);
            // An old index would vouch for files this save is about to replace: it goes before anyone writes.
            if (group.Rank == 0 && File.Exists(index))
                File.Delete(index);
            group.Barrier();
            ShardFile.Write(Path.Combine(directory, ShardFile.Name(group.Rank, group.Size)), slices);
            group.Barrier();
            if (group.Rank == 0)
                CheckpointIndex.Write(directory, group.Size);
            group.Barrier();
        }

        /// <summary>Reads a complete checkpoint and merges its files into one state_dict of whole tensors (on the CPU).</summary>
        /// <exception cref="InvalidDataException">The index is missing (the save was cut short), a file is missing or has another
        /// size than the index records, or the files do not cover every tensor exactly once.</exception>
        public static Dictionary<string, Tensor> LoadStateDict(string directory)
        {
            ArgumentException.ThrowIfNullOrEmpty(directory);
            var index = CheckpointIndex.Read(directory);
            var whole = new Dictionary<string, (Tensor Flat, long[] Shape, long Covered)>();
            foreach (var tensor in index.Tensors) {
                var shape = tensor.Shape;
                var flat = zeros(shape.Aggregate(1L, (a, b) => a * b), Enum.Parse<ScalarType>(tensor.DType));
                whole[tensor.Name] = (flat, shape, 0);
            }
            using var _ = no_grad();
            foreach (var file in index.Files) {
                foreach (var slice in ShardFile.Read(Path.Combine(directory, file.Name))) {
                    if (!whole.TryGetValue(slice.Name, out var entry))
                        throw new InvalidDataException($"{file.Name} holds '{slice.Name}', which the index of {directory} does not list.");
                    if (slice.Offset < 0 || slice.Offset + slice.Values.numel() > entry.Flat.numel())
                        throw new InvalidDataException($"{file.Name} holds elements {slice.Offset}..{slice.Offset + slice.Values.numel()} of '{slice.Name}', which has {entry.Flat.numel()}.");
                    entry.Flat.narrow(0, slice.Offset, slice.Values.numel()).copy_(slice.Values);
                    whole[slice.Name] = (entry.Flat, entry.Shape, entry.Covered + slice.Values.numel());
                    slice.Values.Dispose();
                }
            }
            var result = new Dictionary<string, Tensor>();
            foreach (var (name, (flat, shape, covered)) in whole) {
                if (covered != flat.numel())
                    throw new InvalidDataException(
                        $"The files of {directory} hold {covered} elements of '{name}', which has {flat.numel()}: the checkpoint is inconsistent.");
                result[name] = flat.view(shape);
            }
            return result;
        }

        /// <summary>
        /// Loads a complete checkpoint into <paramref name="model"/> (whole, unpartitioned): every key must match. Optimizer state the
        /// checkpoint holds is skipped (<see cref="LoadOptimizerState"/> loads it).
        /// </summary>
        /// <exception cref="InvalidDataException">The checkpoint is incomplete or its keys differ from the model's.</exception>
        public static void Load(string directory, nn.Module model)
        {
            ArgumentNullException.ThrowIfNull(model);
            var state = LoadStateDict(directory);
            // The optimizer's entries (a checkpoint to resume training) are not the model's.
            foreach (var key in state.Keys.Where(k => k.StartsWith(TrainingOptimizer.CheckpointPrefix, StringComparison.Ordinal)).ToList()) {
                state[key].Dispose();
                state.Remove(key);
            }
            var expected = model.state_dict().Keys.ToHashSet();
            var missing = expected.Except(state.Keys).ToList();
            var unexpected = state.Keys.Except(expected).ToList();
            if (missing.Count > 0 || unexpected.Count > 0)
                throw new InvalidDataException(
                    $"The checkpoint in {directory} does not match the model: missing {string.Join(", ", missing)}; unexpected {string.Join(", ", unexpected)}.");
            model.load_state_dict(state);
            foreach (var tensor in state.Values)
                tensor.Dispose();
        }

        /// <summary>
        /// This rank's share of a model every rank holds whole (data parallel, ZeRO 0–2): its equal range of the parameters laid end to
        /// end (as <see cref="ShardLayout"/> splits them), and on rank 0 the buffers.
        /// </summary>
        public static IReadOnlyList<TensorSlice> ReplicatedState(nn.Module model, ProcessGroup group)
        {
            ArgumentNullException.ThrowIfNull(model);
            ArgumentNullException.ThrowIfNull(group);
            var named = model.named_parameters().ToList();
            var layout = new ShardLayout(named.Select(n => n.parameter.numel()).ToArray(), group.Size);
            var slices = new List<TensorSlice>();
            for (var i = 0; i < named.Count; i++) {
                var (offset, length) = layout.Owned(i, group.Rank);
                if (length > 0) {
                    var (name, parameter) = named[i];
                    slices.Add(new TensorSlice(name, parameter.shape, parameter.dtype, offset, parameter.detach().reshape(-1).narrow(0, offset, length)));
                }
            }
            if (group.Rank == 0)
                slices.AddRange(Buffers(model));
            return slices;
        }

        /// <summary>The model's buffers (running statistics, caches registered as state) whole.</summary>
        internal static IEnumerable<TensorSlice> Buffers(nn.Module model) =>
            model.named_buffers().Select(b => new TensorSlice(b.name, b.buffer.shape, b.buffer.dtype, 0, b.buffer.detach().reshape(-1)));
    }
}
