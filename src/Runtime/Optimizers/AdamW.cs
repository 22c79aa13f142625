using System.Collections.Generic;
using TorchSharp.Modules;

namespace ModelGen.Optimizers
{
    /// <summary>
    /// AdamW (Loshchilov and Hutter 2019, "Decoupled Weight Decay Regularization", Algorithm 2): equal to TorchSharp's
    /// <c>torch.optim.AdamW</c>, with the step's temporaries freed parameter by parameter.
    /// </summary>
    public sealed class AdamW : AdamFamily
    {
        /// <summary>Creates the optimizer and its two moments per owned element.</summary>
        /// <param name="parameters">The model's parameters (frozen ones are left out).</param>
        /// <param name="learningRate">Step size.</param>
        /// <param name="beta1">Decay of the first moment.</param>
        /// <param name="beta2">Decay of the second moment.</param>
        /// <param name="eps">Added to the denominator for numerical stability.</param>
        /// <param name="weightDecay">Decoupled weight decay factor: each step multiplies the weights by 1 − lr·weightDecay.</param>
        /// <param name="settings">Precision, sharding, offload and clipping; null: defaults.</param>
        public AdamW(IEnumerable<Parameter> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
            double eps = 1e-8, double weightDecay = 1e-2, OptimizerSettings? settings = null)
            : base(parameters, learningRate, beta1, beta2, eps, weightDecay, settings, decoupled: true)
        {
        }
    }
}
