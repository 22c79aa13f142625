using System;
using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Optimizers
{
    /// <summary>
    /// The step shared by <see cref="Adam"/> and <see cref="AdamW"/>: two moments per owned element, the arithmetic of TorchSharp's
    /// <c>torch.optim.Adam</c>/<c>AdamW</c> in the same order (so fp32 results agree with them bit for bit), and one
    /// parameter-sized temporary, the denominator, freed before the next parameter.
    /// </summary>
    public abstract class AdamFamily : TrainingOptimizer
    {
        private readonly double _beta1;
        private readonly double _beta2;
        private readonly double _eps;
        private readonly bool _decoupled;

        private protected AdamFamily(IEnumerable<Parameter> parameters, double learningRate, double beta1, double beta2, double eps,
            double weightDecay, OptimizerSettings? settings, bool decoupled)
            : base(parameters, learningRate, settings)
        {
            if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "beta1 must be in [0, 1).");
            if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "beta2 must be in [0, 1).");
            if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be ≥ 0.");
            if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "The weight decay must be ≥ 0.");
            _beta1 = beta1;
            _beta2 = beta2;
            _eps = eps;
            WeightDecay = weightDecay;
            _decoupled = decoupled;
            AllocateState();
        }

        /// <summary>The weight decay factor.</summary>
        public double WeightDecay { get; }

        private protected override string[]? StateNames => ["exp_avg", "exp_avg_sq"];

        private protected override Tensor?[] CreateState(ParameterSlot slot) =>
        [
            zeros(slot.Length, slot.StepType, slot.Master.device).DetachFromDisposeScope(),
            zeros(slot.Length, slot.StepType, slot.Master.device).DetachFromDisposeScope(),
        ];

        private protected override void Update(ParameterSlot slot, Tensor values, Tensor gradient)
        {
            var expAvg = slot.State[0]!;
            var expAvgSq = slot.State[1]!;
            var lr = LearningRate;
            if (WeightDecay != 0) {
                if (_decoupled)
                    values.mul_(1 - (lr * WeightDecay));
                else
                    gradient.add_(values, alpha: WeightDecay); // Adam's L2 penalty; the gradient is ours to change
            }
            var biasCorrection1 = 1 - Math.Pow(_beta1, slot.Steps);
            var biasCorrection2 = 1 - Math.Pow(_beta2, slot.Steps);
            expAvg.mul_(_beta1).add_(gradient, alpha: 1 - _beta1);
            expAvgSq.mul_(_beta2).addcmul_(gradient, gradient, value: 1 - _beta2);
            // The one parameter-sized temporary: sqrt, then divided and shifted in place.
            var denominator = expAvgSq.sqrt();
            denominator.div_(Math.Sqrt(biasCorrection2)).add_(_eps);
            values.addcdiv_(expAvg, denominator, value: -(lr / biasCorrection1));
        }
    }
}
