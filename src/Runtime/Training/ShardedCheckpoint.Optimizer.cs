using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Optimizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Training
{
    public static partial class ShardedCheckpoint
    {
        /// <summary>
        /// This rank's share of a model every rank holds whole (data parallel, ZeRO 0–2) and of <paramref name="optimizer"/>'s state:
        /// <see cref="ReplicatedState(nn.Module, ProcessGroup)"/> plus the moments, fp32 master copies and step counts, laid out like
        /// the parameters (<see cref="TrainingOptimizer.CheckpointPrefix"/>). Under ZeRO 1 and 2 each rank writes the state it owns;
        /// otherwise every rank holds all of it and writes the same range of it as of the parameters. Resume with
        /// <see cref="LoadOptimizerState"/> on any world size.
        /// </summary>
        /// <param name="model">The model.</param>
        /// <param name="group">The data-parallel ranks writing the checkpoint.</param>
        /// <param name="optimizer">The optimizer over the model's parameters.</param>
        /// <exception cref="ArgumentException">The optimizer partitions its state over a group other than <paramref name="group"/>'s size,
        /// or steps a tensor that is not one of the model's parameters.</exception>
        /// <exception cref="NotSupportedException">The optimizer's state is not laid out element for element.</exception>
        public static IReadOnlyList<TensorSlice> ReplicatedState(nn.Module model, ProcessGroup group, TrainingOptimizer optimizer)
        {
            ArgumentNullException.ThrowIfNull(optimizer);
            var slices = ReplicatedState(model, group).ToList();
            var partitioned = optimizer.PartitionGroup.Size > 1;
            if (partitioned && optimizer.PartitionGroup.Size != group.Size)
                throw new ArgumentException(
                    $"The optimizer partitions its state over {optimizer.PartitionGroup.Size} ranks but the checkpoint is written by {group.Size}; write it over the optimizer's data-parallel group.",
                    nameof(group));
            var named = model.named_parameters().ToList();
            var layout = new ShardLayout(named.Select(n => n.parameter.numel()).ToArray(), group.Size);
            var index = new Dictionary<Parameter, int>(ReferenceEqualityComparer.Instance);
            for (var i = 0; i < named.Count; i++)
                index.TryAdd(named[i].parameter, i);
            slices.AddRange(optimizer.StateSlices(parameter => {
                if (!index.TryGetValue(parameter, out var i))
                    throw new ArgumentException("The optimizer steps a tensor that is not one of the model's parameters.", nameof(optimizer));
                var (name, whole) = named[i];
                if (partitioned)
                    return [new StateSegment(name, whole.shape, 0, 0, whole.numel())];
                // Every rank holds the whole state: each writes the range it writes of the parameter, so each element is written once.
                var (offset, length) = layout.Owned(i, group.Rank);
                return length == 0 ? [] : [new StateSegment(name, whole.shape, offset, offset, length)];
            }));
            return slices;
        }

        /// <summary>
        /// Loads <paramref name="optimizer"/>'s state (its ranges, at any ZeRO stage up to 2) from a merged checkpoint
        /// (<see cref="LoadStateDict"/>) written by any world size with <see cref="ReplicatedState(nn.Module, ProcessGroup, TrainingOptimizer)"/>
        /// or by ZeRO 3. Load the model's parameters first (<see cref="Load"/>), then build the optimizer, then call this.
        /// </summary>
        /// <param name="optimizer">The optimizer over <paramref name="model"/>'s parameters.</param>
        /// <param name="model">The model, whose parameter names key the state.</param>
        /// <param name="state">The merged checkpoint.</param>
        /// <exception cref="System.IO.InvalidDataException">The checkpoint holds no optimizer state for a parameter.</exception>
        public static void LoadOptimizerState(TrainingOptimizer optimizer, nn.Module model, IReadOnlyDictionary<string, Tensor> state)
        {
            ArgumentNullException.ThrowIfNull(optimizer);
            ArgumentNullException.ThrowIfNull(model);
            var names = new Dictionary<Parameter, string>(ReferenceEqualityComparer.Instance);
            foreach (var (name, parameter) in model.named_parameters())
                names.TryAdd(parameter, name);
            optimizer.LoadStateFrom(parameter => names.TryGetValue(parameter, out var name)
                ? [new StateSegment(name, parameter.shape, 0, 0, parameter.numel())]
                : throw new ArgumentException("The optimizer steps a tensor that is not one of the model's parameters.", nameof(optimizer)), state);
        }
    }
}
