using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Optimizers;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Training
{
    public sealed partial class ZeroStage3
    {
        /// <summary>
        /// This rank's share of the model's state and of <paramref name="optimizer"/>'s, for <see cref="ShardedCheckpoint.Save"/>:
        /// <see cref="ShardedState()"/> plus the optimizer's moments, fp32 master copies and step counts, each laid out like the
        /// parameter it belongs to (<see cref="TrainingOptimizer.CheckpointPrefix"/>), so a checkpoint written by N ranks resumes
        /// training on M (<see cref="LoadOptimizerState"/>). Call it between steps.
        /// </summary>
        /// <param name="optimizer">The optimizer built over <see cref="Partitions"/>.</param>
        /// <exception cref="ArgumentException">The optimizer steps parameters that are not this engine's partitions.</exception>
        /// <exception cref="NotSupportedException">The optimizer's state is not laid out element for element.</exception>
        public IReadOnlyList<TensorSlice> ShardedState(TrainingOptimizer optimizer)
        {
            ArgumentNullException.ThrowIfNull(optimizer);
            var slices = ShardedState().ToList();
            slices.AddRange(optimizer.StateSlices(SegmentsOf(optimizer)));
            return slices;
        }

        /// <summary>
        /// Loads <paramref name="optimizer"/>'s state for this rank's partitions from a merged checkpoint
        /// (<see cref="ShardedCheckpoint.LoadStateDict"/>), whatever world size wrote it. Load the parameters first
        /// (<see cref="LoadParameters"/>), then build the optimizer, then call this.
        /// </summary>
        /// <param name="optimizer">The optimizer built over <see cref="Partitions"/>.</param>
        /// <param name="state">The merged checkpoint.</param>
        /// <exception cref="System.IO.InvalidDataException">The checkpoint holds no optimizer state for a parameter.</exception>
        public void LoadOptimizerState(TrainingOptimizer optimizer, IReadOnlyDictionary<string, Tensor> state)
        {
            ArgumentNullException.ThrowIfNull(optimizer);
            optimizer.LoadStateFrom(SegmentsOf(optimizer), state);
        }

        private Func<Parameter, IReadOnlyList<StateSegment>> SegmentsOf(TrainingOptimizer optimizer)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var units = _layers.Values.Append(_rest).ToList();
            var owner = new Dictionary<Parameter, PartitionedParameters>(ReferenceEqualityComparer.Instance);
            foreach (var unit in units)
                foreach (var partition in unit.Partitions)
                    owner[partition] = unit;
            if (optimizer.Parameters.FirstOrDefault(p => !owner.ContainsKey(p)) is not null)
                throw new ArgumentException("The optimizer steps parameters that are not this ZeroStage3's partitions; build it over Partitions.", nameof(optimizer));
            return partition => owner[partition].Segments(partition, p => _names[p]);
        }
    }
}
