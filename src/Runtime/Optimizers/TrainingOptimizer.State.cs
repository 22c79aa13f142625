using System;
using System.Collections.Generic;
using System.IO;
using ModelGen.Distributed;
using ModelGen.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Optimizers
{
    /// <summary>
    /// Where part of an optimizer parameter lives in a state_dict: its flattened elements [<paramref name="Local"/>,
    /// <paramref name="Local"/> + <paramref name="Length"/>) are elements [<paramref name="Whole"/>, …) of the tensor
    /// <paramref name="Name"/> of shape <paramref name="Shape"/>. A model parameter is one segment of itself; a ZeRO-3 partition
    /// is a run of segments, one per parameter it holds a range of.
    /// </summary>
    internal readonly record struct StateSegment(string Name, long[] Shape, long Whole, long Local, long Length);

    public abstract partial class TrainingOptimizer
    {
        /// <summary>
        /// The prefix of the optimizer's entries in a sharded checkpoint: <c>optimizer:exp_avg:blocks.0.fc.weight</c> is the first
        /// AdamW moment of <c>blocks.0.fc.weight</c>, laid out as the parameter. A colon never appears in a module's state_dict key.
        /// </summary>
        public const string CheckpointPrefix = "optimizer:";

        /// <summary>
        /// Names of the state tensors <see cref="CreateState"/> allocates, in order, for checkpoints; null when they are not laid out
        /// element for element like the parameter (blockwise-quantized state), which checkpoints then refuse.
        /// </summary>
        private protected virtual string[]? StateNames => null;

        /// <summary>The group this optimizer partitions its state over (one rank unless ZeRO 1 or 2).</summary>
        internal ProcessGroup PartitionGroup => Group;

        /// <summary>
        /// This rank's optimizer state as checkpoint slices, keyed by the parameters' state_dict names through
        /// <paramref name="segments"/>: every state tensor, the fp32 master copy where the parameter is 16-bit, and the step count
        /// (written by the rank that holds the parameter's first element). The slices share memory with the state.
        /// </summary>
        internal IEnumerable<TensorSlice> StateSlices(Func<Parameter, IReadOnlyList<StateSegment>> segments)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var names = StateNames ?? throw new NotSupportedException(
                $"{GetType().Name} keeps its state in a layout of its own (blocks, not elements), which a sharded checkpoint cannot reshard; save the parameters only.");
            var slices = new List<TensorSlice>();
            foreach (var slot in _slots) {
                if (slot.Length == 0)
                    continue;
                foreach (var (segment, wholeOffset, local, count) in Overlaps(slot, segments(slot.Model))) {
                    for (var k = 0; k < names.Length; k++)
                        slices.Add(new TensorSlice(CheckpointPrefix + names[k] + ":" + segment.Name, segment.Shape, slot.State[k]!.dtype, wholeOffset,
                            slot.State[k]!.narrow(0, local, count)));
                    if (slot.StepType != slot.Model.dtype)
                        slices.Add(new TensorSlice(CheckpointPrefix + "master:" + segment.Name, segment.Shape, slot.StepType, wholeOffset,
                            slot.Master.narrow(0, local, count)));
                    if (wholeOffset == 0)
                        slices.Add(new TensorSlice(CheckpointPrefix + "step:" + segment.Name, [1], ScalarType.Int64, 0, tensor(new[] { slot.Steps })));
                }
            }
            return slices;
        }

        /// <summary>
        /// Loads this rank's ranges of the optimizer state from whole tensors (a merged checkpoint, whatever world size wrote it).
        /// Call it after the model's parameters are loaded: a 16-bit parameter's master copy comes from the checkpoint when it
        /// holds one, else from the loaded parameter.
        /// </summary>
        /// <exception cref="InvalidDataException">The state lacks an entry, or the ranges of one partition disagree on the step count.</exception>
        internal void LoadStateFrom(Func<Parameter, IReadOnlyList<StateSegment>> segments, IReadOnlyDictionary<string, Tensor> state)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentNullException.ThrowIfNull(state);
            var names = StateNames ?? throw new NotSupportedException(
                $"{GetType().Name} keeps its state in a layout of its own (blocks, not elements), which a sharded checkpoint cannot reshard.");
            using var _ = no_grad();
            foreach (var slot in _slots) {
                if (slot.Length == 0)
                    continue;
                long? steps = null;
                foreach (var (segment, wholeOffset, local, count) in Overlaps(slot, segments(slot.Model))) {
                    using var scope = NewDisposeScope();
                    for (var k = 0; k < names.Length; k++)
                        slot.State[k]!.narrow(0, local, count).copy_(Whole(state, names[k], segment).narrow(0, wholeOffset, count));
                    if (!slot.MasterIsView) {
                        var source = state.TryGetValue(CheckpointPrefix + "master:" + segment.Name, out var master)
                            ? master.reshape(-1).narrow(0, wholeOffset, count)
                            : slot.Model.detach().view(-1).narrow(0, slot.Offset + local, count);
                        slot.Master.narrow(0, local, count).copy_(source);
                    }
                    var step = Whole(state, "step", segment).item<long>();
                    if (steps is { } known && known != step)
                        throw new InvalidDataException(
                            $"The checkpoint's optimizer took {known} steps for one part of a partition and {step} for '{segment.Name}'; it cannot be resharded.");
                    steps = step;
                }
                slot.Steps = steps ?? 0;
            }
        }

        private static Tensor Whole(IReadOnlyDictionary<string, Tensor> state, string kind, StateSegment segment) =>
            state.TryGetValue(CheckpointPrefix + kind + ":" + segment.Name, out var whole) ? whole.reshape(-1)
                : throw new InvalidDataException(
                    $"The checkpoint has no optimizer state '{CheckpointPrefix}{kind}:{segment.Name}': it was saved without the optimizer, or by another optimizer.");

        /// <summary>The pieces of <paramref name="slot"/>'s owned range that each segment covers: whole offset, offset in the slot, length.</summary>
        private static IEnumerable<(StateSegment Segment, long WholeOffset, long Local, long Count)> Overlaps(ParameterSlot slot, IReadOnlyList<StateSegment> segments)
        {
            foreach (var segment in segments) {
                var from = Math.Max(slot.Offset, segment.Local);
                var to = Math.Min(slot.Offset + slot.Length, segment.Local + segment.Length);
                if (to > from)
                    yield return (segment, segment.Whole + (from - segment.Local), from - slot.Offset, to - from);
            }
        }
    }
}
