using System.Collections.Generic;
using TorchSharp.Modules;

namespace ModelGen.Optimizers
{
    /// <summary>
    /// Adam (Kingma and Ba 2015, "Adam: A Method for Stochastic Optimization", Algorithm 1) with weight decay as an L2 term added to
    /// the gradient: equal to TorchSharp's <c>torch.optim.Adam</c>, with the step's temporaries freed parameter by parameter.
    /// </summary>
    public sealed class Adam : AdamFamily
    {
        /// <summary>Creates the optimizer and its two moments per owned element.</summary>
        /// <param name="parameters">The model's parameters (frozen ones are left out).</param>
        /// <param name="learningRate">Step size.</param>
        /// <param name="beta1">Decay of the first moment.</param>
        /// <param name="beta2">Decay of the second moment.</param>
        /// <param name="eps">Added to the denominator for numerical stability.</param>
        /// <param name="weightDecay">L2 penalty factor: weightDecay·w is added to the gradient.</param>
        /// <param name="settings">Precision, sharding, offload and clipping; null: defaults.</param>
        public Adam(IEnumerable<Parameter> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
            double eps = 1e-8, double weightDecay = 0, OptimizerSettings? settings = null)
            : base(parameters, learningRate, beta1, beta2, eps, weightDecay, settings, decoupled: false)
        {
        }
    }
}
