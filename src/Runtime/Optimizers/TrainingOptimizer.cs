using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Distributed;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Optimizers
{
    /// <summary>
    /// The base of ModelGen's optimizers (<see cref="AdamW"/>, <see cref="Adam"/>, <see cref="Sgd"/>). Unlike <c>torch.optim</c> in
    /// TorchSharp 0.107, whose step keeps every parameter's temporaries alive until it ends (8 bytes per parameter for AdamW),
    /// each parameter is stepped in its own dispose scope with in-place ops, so the step's temporaries are those of the largest
    /// parameter. 16-bit parameters get an fp32 master copy and one fp32 main gradient (<see cref="OptimizerSettings.Fp32MasterWeights"/>);
    /// the optimizer state can be partitioned over data-parallel ranks (<see cref="OptimizerSettings.ZeroStage"/>) and kept on the host.
    /// </summary>
    /// <remarks>
    /// <para>Gradients: TorchSharp 0.107 has no <c>Tensor.register_hook</c> (only module forward hooks), and a C# autograd
    /// function sees the gradients of its outputs, never the accumulation into a leaf parameter. So a 16-bit gradient cannot be
    /// folded the moment backward produces it; <see cref="FoldGradients"/> folds them one by one right after backward (it is called
    /// by <see cref="Step"/> if you do not call it yourself), freeing each 16-bit gradient as its fp32 main gradient is made.</para>
    /// <para>After <see cref="Step"/> every gradient is freed (set to none, as PyTorch's <c>zero_grad(set_to_none=True)</c>):
    /// between steps the model holds no gradient memory.</para>
    /// </remarks>
    public abstract partial class TrainingOptimizer : IDisposable
    {
        private readonly ParameterSlot[] _slots;
        private readonly Parameter[] _parameters;
        private readonly ShardLayout _layout;
        private bool _disposed;

        /// <summary>Collects the trainable parameters and allocates the master copies of this rank's partition.</summary>
        /// <exception cref="ArgumentException">A parameter is null or disposed, or the settings are invalid.</exception>
        protected TrainingOptimizer(IEnumerable<Parameter> parameters, double learningRate, OptimizerSettings? settings)
        {
            ArgumentNullException.ThrowIfNull(parameters);
            Settings = settings ?? new OptimizerSettings();
            Settings.Validate();
            if (!(learningRate >= 0) || !double.IsFinite(learningRate))
                throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be a finite number ≥ 0.");
            LearningRate = learningRate;

            var list = new List<Parameter>();
            var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
            foreach (var parameter in parameters) {
                if (parameter is null || parameter.IsInvalid)
                    throw new ArgumentException("The optimizer was given a null or disposed parameter.", nameof(parameters));
                // Frozen parameters have no gradient; a tied weight listed twice is stepped once.
                if (parameter.requires_grad && seen.Add(parameter))
                    list.Add(parameter);
            }
            _parameters = list.ToArray();
            if (Settings.ZeroStage == 3 && _parameters.FirstOrDefault(p => !Training.PartitionedParameters.IsPartition(p)) is not null)
                throw new ArgumentException(
                    "ZeRO stage 3 steps the partitions of a ZeroStage3 engine (its Partitions), not the model's parameters: the optimizer " +
                    "cannot partition parameters that the model uses whole. Use stage 1 or 2 for the model's parameters.", nameof(parameters));

            var group = Group;
            _layout = new ShardLayout(_parameters.Select(p => p.numel()).ToArray(), group.Size);
            var slots = new List<ParameterSlot>();
            for (var i = 0; i < _parameters.Length; i++) {
                var parameter = _parameters[i];
                var (offset, length) = _layout.Owned(i, group.Rank);
                var sixteenBit = parameter.dtype is ScalarType.Float16 or ScalarType.BFloat16;
                var stepType = sixteenBit && Settings.Fp32MasterWeights ? ScalarType.Float32 : parameter.dtype;
                var stepDevice = Settings.OffloadToHost ? CPU : parameter.device;
                var needsCopy = stepType != parameter.dtype || stepDevice.type != parameter.device.type || stepDevice.index != parameter.device.index;
                slots.Add(new ParameterSlot(parameter, i, offset, length, stepType, stepDevice, needsCopy));
            }
            _slots = slots.ToArray();
        }

        /// <summary>The settings this optimizer was built with.</summary>
        public OptimizerSettings Settings { get; }

        /// <summary>The learning rate of the next step (a scheduler may change it between steps).</summary>
        public double LearningRate { get; set; }

        /// <summary>The global 2-norm of the gradients at the last <see cref="Step"/> (before clipping); NaN before the first.</summary>
        public double LastGradientNorm { get; private set; } = double.NaN;

        /// <summary>The trainable parameters, in the order given (tied weights once).</summary>
        public IReadOnlyList<Parameter> Parameters => _parameters;

        /// <summary>Elements of optimizer state, master weights and main gradients this rank holds: its partition of the parameters.</summary>
        public long OwnedElements => _slots.Sum(s => s.Length);

        /// <summary>
        /// The group the optimizer partitions its parameters over: the data-parallel group at stages 1 and 2; a one-rank group at
        /// stage 0 (nothing partitioned) and stage 3 (the parameters given are already this rank's partitions).
        /// </summary>
        private ProcessGroup Group => Settings.ZeroStage is 1 or 2 ? Settings.DataParallel : SingleProcessGroup.Instance;

        /// <summary>The group whose ranks hold different gradients, over which the clipping norm and the overflow check sum.</summary>
        private ProcessGroup NormGroup => Settings.ZeroStage >= 1 ? Settings.DataParallel : SingleProcessGroup.Instance;

        internal IReadOnlyList<ParameterSlot> Slots => _slots;

        internal ShardLayout Layout => _layout;

        /// <summary>Allocates the optimizer's state tensors for one slot (zeros of <see cref="ParameterSlot.Length"/> elements).</summary>
        private protected abstract Tensor?[] CreateState(ParameterSlot slot);

        /// <summary>Updates <paramref name="values"/> in place from <paramref name="gradient"/>; runs inside a dispose scope per parameter.</summary>
        private protected abstract void Update(ParameterSlot slot, Tensor values, Tensor gradient);

        /// <summary>Allocates every slot's state now, as torch.optim does at construction, so memory is claimed up front.</summary>
        private protected void AllocateState()
        {
            foreach (var slot in _slots)
                slot.State = CreateState(slot);
        }

        /// <summary>
        /// Folds every parameter's gradient into this rank's main gradients: averaged over the data-parallel ranks from ZeRO stage 1 on
        /// (all-reduce at stage 1, reduce-scatter at stage 2), converted to the step's dtype and device, added to what earlier
        /// micro-batches left, and the parameter's own gradient freed. Call it after each backward when accumulating micro-batches, so
        /// the 16-bit gradients of one micro-batch never meet the next's. A parameter without gradient contributes zeros on every rank.
        /// </summary>
        /// <exception cref="BackwardException">A checkpoint's recompute failed in the last backward: the gradients are incomplete,
        /// so they are all freed and nothing is folded.</exception>
        public void FoldGradients()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try {
                BackwardFailures.ThrowIfAny();
            } catch (BackwardException) {
                ZeroGrad();
                throw;
            }
            var group = Group;
            using var _ = no_grad();
            foreach (var slot in _slots)
                FoldSlot(slot, group);
        }

        /// <summary>Folds one parameter's gradient (see <see cref="FoldGradients"/>); every rank calls it for the same slots in the same order.</summary>
        private void FoldSlot(ParameterSlot slot, ProcessGroup group)
        {
            if (UsesModelGradient(slot))
                return; // fp32 on its own device, unsharded: the step reads the parameter's gradient directly.
            using var scope = NewDisposeScope();
            var gradient = slot.Model.grad;
            // Folded during backward and not produced again since: on every rank alike, so no collective is skipped by one rank only.
            if (gradient is null && (group.Size == 1 || slot.FoldedDuringBackward))
                return;
            // Every rank must join the collective, so a missing gradient takes part as zeros.
            var flat = gradient is null ? zeros(slot.Model.numel(), slot.StepType, slot.Model.device) : gradient.view(-1);
            Tensor owned;
            if (group.Size == 1) {
                owned = flat.narrow(0, slot.Offset, slot.Length);
            } else {
                // Reduce in the step's precision: bf16 sums over many ranks lose bits that fp32 keeps.
                var reduced = flat.to_type(slot.StepType).contiguous();
                if (Settings.ZeroStage == 1) {
                    group.AllReduce(reduced, ReduceOp.Average);
                    owned = reduced.narrow(0, slot.Offset, slot.Length);
                } else {
                    owned = group.ReduceScatter(reduced, ReduceOp.Average, _layout.Counts(slot.Index));
                }
            }
            if (slot.Length > 0)
                slot.Accumulate(owned);
            if (gradient is not null)
                slot.Model.grad = null; // frees the 16-bit (or full-size) gradient as soon as it is folded
        }

        /// <summary>Frees every gradient: the parameters' and the main gradients (set to none, not zeroed).</summary>
        public void ZeroGrad()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (var slot in _slots) {
                slot.ReleaseGradient();
                slot.Model.grad = null;
                slot.FoldedDuringBackward = false;
            }
        }

        /// <summary>True for a slot that steps the parameter's own gradient: an unsharded fp32 (or pure 16-bit) parameter on its device.</summary>
        private bool UsesModelGradient(ParameterSlot slot) => slot.MasterIsView && Group.Size == 1 && Settings.ZeroStage is 0 or 3;

        /// <summary>The gradient a slot steps with: its main gradient, or a flat view of the parameter's own.</summary>
        private static Tensor? GradientOf(ParameterSlot slot, bool usesModelGradient) =>
            usesModelGradient ? slot.Model.grad?.view(-1) : slot.MainGradient;

        /// <summary>Releases the master copies, main gradients and optimizer state.</summary>
        public void Dispose()
        {
            if (_disposed)
                return;
            _disposed = true;
            foreach (var slot in _slots)
                slot.Dispose();
            GC.SuppressFinalize(this);
        }
    }
}
