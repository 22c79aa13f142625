using System;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Optimizers
{
    /// <summary>
    /// What an optimizer keeps for the part of one parameter that this rank owns: the values it steps (<see cref="Master"/>),
    /// the gradient it steps with (<see cref="MainGradient"/>) and the optimizer's state tensors, all flat over the owned range.
    /// </summary>
    internal sealed class ParameterSlot : IDisposable
    {
        public ParameterSlot(Parameter model, int index, long offset, long length, ScalarType stepType, Device stepDevice, bool needsCopy)
        {
            Model = model;
            Index = index;
            Offset = offset;
            Length = length;
            StepType = stepType;
            MasterIsView = !needsCopy;
            using var _ = no_grad();
            var owned = OwnedRangeOfModel();
            // A view updates the parameter in place (fp32, or the pure 16-bit mode); a copy is the fp32 master or the host copy.
            Master = needsCopy ? owned.to(stepType, stepDevice, copy: true) : owned;
            Master.DetachFromDisposeScope();
        }

        /// <summary>The model's parameter.</summary>
        public Parameter Model { get; }

        /// <summary>Its position in the optimizer's parameter list (and in the shard layout).</summary>
        public int Index { get; }

        /// <summary>First owned element of the flattened parameter.</summary>
        public long Offset { get; }

        /// <summary>Owned elements (0: another rank owns all of it).</summary>
        public long Length { get; }

        /// <summary>The dtype the step computes in (fp32 with master weights, else the parameter's).</summary>
        public ScalarType StepType { get; }

        /// <summary>True when <see cref="Master"/> shares the parameter's storage (no copy to write back).</summary>
        public bool MasterIsView { get; }

        /// <summary>The owned values the step updates: flat, <see cref="Length"/> elements.</summary>
        public Tensor Master { get; }

        /// <summary>The owned gradient, flat, in <see cref="StepType"/> on the step's device; null before any fold.</summary>
        public Tensor? MainGradient { get; set; }

        /// <summary>The optimizer's state tensors for this range (moments, momentum buffer), allocated by the optimizer.</summary>
        public Tensor?[] State { get; set; } = [];

        /// <summary>Folded by <see cref="TrainingOptimizer.FoldDuringBackward"/> since the last step.</summary>
        public bool FoldedDuringBackward { get; set; }

        /// <summary>Steps taken with this range.</summary>
        public long Steps { get; set; }

        /// <summary>The owned range of the model's parameter as a flat view (no graph, shares storage).</summary>
        public Tensor OwnedRangeOfModel() => Model.detach().view(-1).narrow(0, Offset, Length);

        /// <summary>Adds <paramref name="gradient"/> (flat, owned range) into the main gradient, converting dtype and device.</summary>
        public void Accumulate(Tensor gradient)
        {
            if (MainGradient is null) {
                var copy = gradient.to(StepType, Master.device, copy: true);
                copy.DetachFromDisposeScope();
                MainGradient = copy;
            } else {
                MainGradient.add_(gradient.to(StepType, Master.device));
            }
        }

        /// <summary>Frees the main gradient (set-to-none semantics: the memory is returned, not zeroed).</summary>
        public void ReleaseGradient()
        {
            MainGradient?.Dispose();
            MainGradient = null;
        }

        /// <summary>Frees every tensor this slot allocated (a view's storage is the model's and stays).</summary>
        public void Dispose()
        {
            ReleaseGradient();
            foreach (var state in State)
                state?.Dispose();
            Master.Dispose();
        }
    }
}
