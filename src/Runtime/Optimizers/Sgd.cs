using System;
using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Optimizers
{
    /// <summary>
    /// Stochastic gradient descent, plain or with (Nesterov) momentum (Sutskever et al. 2013): equal to TorchSharp's
    /// <c>torch.optim.SGD</c>, including its first-step rule (the momentum buffer starts as a copy of the gradient).
    /// Plain SGD keeps no state; momentum keeps one buffer per owned element.
    /// </summary>
    public sealed class Sgd : TrainingOptimizer
    {
        private readonly double _momentum;
        private readonly double _dampening;
        private readonly bool _nesterov;
        private readonly double _weightDecay;

        /// <summary>Creates the optimizer.</summary>
        /// <param name="parameters">The model's parameters (frozen ones are left out).</param>
        /// <param name="learningRate">Step size.</param>
        /// <param name="momentum">Momentum factor; 0 is plain SGD (no state).</param>
        /// <param name="dampening">Dampening of the momentum.</param>
        /// <param name="weightDecay">L2 penalty factor added to the gradient.</param>
        /// <param name="nesterov">Nesterov momentum (needs momentum &gt; 0 and no dampening).</param>
        /// <param name="settings">Precision, sharding, offload and clipping; null: defaults.</param>
        public Sgd(IEnumerable<Parameter> parameters, double learningRate, double momentum = 0, double dampening = 0,
            double weightDecay = 0, bool nesterov = false, OptimizerSettings? settings = null)
            : base(parameters, learningRate, settings)
        {
            if (!(momentum >= 0)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "The momentum must be ≥ 0.");
            if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "The weight decay must be ≥ 0.");
            if (nesterov && (momentum <= 0 || dampening != 0))
                throw new ArgumentException("Nesterov momentum needs a momentum above 0 and zero dampening.", nameof(nesterov));
            _momentum = momentum;
            _dampening = dampening;
            _weightDecay = weightDecay;
            _nesterov = nesterov;
            AllocateState();
        }

        private protected override string[]? StateNames => _momentum == 0 ? [] : ["momentum_buffer"];

        private protected override Tensor?[] CreateState(ParameterSlot slot) =>
            // The buffer is allocated up front (zeros) so the memory is claimed at construction; the first step copies into it.
            _momentum == 0 ? [] : [zeros(slot.Length, slot.StepType, slot.Master.device).DetachFromDisposeScope()];

        private protected override void Update(ParameterSlot slot, Tensor values, Tensor gradient)
        {
            if (_weightDecay != 0)
                gradient.add_(values, alpha: _weightDecay);
            var direction = gradient;
            if (_momentum != 0) {
                var buffer = slot.State[0]!;
                if (slot.Steps == 1)
                    buffer.copy_(gradient);
                else
                    buffer.mul_(_momentum).add_(gradient, alpha: 1 - _dampening);
                direction = _nesterov ? gradient.add_(buffer, alpha: _momentum) : buffer;
            }
            values.add_(direction, alpha: -LearningRate);
        }
    }
}
