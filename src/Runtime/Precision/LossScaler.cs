using System;
using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen
{
    /// <summary>
    /// Dynamic loss scaling for fp16 training (Micikevicius et al. 2018, "Mixed Precision Training", §3.2): the loss is
    /// multiplied by a large factor so small gradients do not flush to zero in fp16; before the optimizer step the
    /// gradients are divided by it again. A step whose gradients overflowed (inf/NaN) is skipped and the scale halved;
    /// after a run of clean steps the scale is doubled. TorchSharp has no <c>GradScaler</c>; this is its counterpart.
    /// bf16 has fp32's exponent range and needs no scaling.
    /// </summary>
    /// <example>
    /// <code>
    /// var scaler = new LossScaler();
    /// optimizer.zero_grad();
    /// scaler.Scale(loss).backward();
    /// scaler.Step(optimizer, model.parameters());   // false: skipped, the gradients overflowed
    /// </code>
    /// </example>
    public sealed class LossScaler
    {
        private readonly int _growthInterval;
        private readonly double _growthFactor;
        private readonly double _backoffFactor;
        private int _cleanSteps;

        /// <summary>Creates a scaler.</summary>
        /// <param name="initialScale">The first scale; 2^16, as PyTorch's GradScaler, puts typical fp16 gradients well inside the range.</param>
        /// <param name="growthInterval">Consecutive clean steps after which the scale grows.</param>
        /// <param name="growthFactor">Factor applied when the scale grows (&gt; 1).</param>
        /// <param name="backoffFactor">Factor applied after an overflow (between 0 and 1).</param>
        /// <exception cref="ArgumentOutOfRangeException">A value is outside the range given above.</exception>
        public LossScaler(double initialScale = 65536.0, int growthInterval = 2000, double growthFactor = 2.0, double backoffFactor = 0.5)
        {
            if (!double.IsFinite(initialScale) || initialScale <= 0)
                throw new ArgumentOutOfRangeException(nameof(initialScale), initialScale, "The loss scale must be a finite positive number.");
            if (growthInterval < 1)
                throw new ArgumentOutOfRangeException(nameof(growthInterval), growthInterval, "The growth interval must be at least one step.");
            if (!double.IsFinite(growthFactor) || growthFactor <= 1)
                throw new ArgumentOutOfRangeException(nameof(growthFactor), growthFactor, "The growth factor must be greater than 1.");
            if (!(backoffFactor > 0 && backoffFactor < 1))
                throw new ArgumentOutOfRangeException(nameof(backoffFactor), backoffFactor, "The backoff factor must be between 0 and 1.");
            CurrentScale = initialScale;
            _growthInterval = growthInterval;
            _growthFactor = growthFactor;
            _backoffFactor = backoffFactor;
        }

        /// <summary>The factor the next <see cref="Scale(Tensor)"/> multiplies the loss by.</summary>
        public double CurrentScale { get; private set; }

        /// <summary>Steps skipped so far because the gradients held inf or NaN.</summary>
        public long SkippedSteps { get; private set; }

        /// <summary>
        /// The loss times <see cref="CurrentScale"/>, in fp32 (an fp16 loss times 2^16 would itself overflow);
        /// call <c>backward()</c> on the result.
        /// </summary>
        /// <exception cref="ArgumentException"><paramref name="loss"/> is not floating-point.</exception>
        public Tensor Scale(Tensor loss)
        {
            ArgumentNullException.ThrowIfNull(loss);
            if (!loss.is_floating_point())
                throw new ArgumentException($"LossScaler.Scale needs a floating-point loss, got {loss.dtype}.", nameof(loss));
            using var scope = NewDisposeScope();
            return scope.MoveToOuter(loss.to_type(ScalarType.Float32) * CurrentScale);
        }

        /// <summary>
        /// Divides the gradients of <paramref name="parameters"/> by the scale in place; then, if all are finite, runs
        /// <paramref name="optimizer"/>'s step and returns true; otherwise skips it, multiplies the scale by the backoff
        /// factor and returns false. The gradients are left in place either way; zero them before the next backward.
        /// </summary>
        /// <param name="optimizer">The optimizer over <paramref name="parameters"/>.</param>
        /// <param name="parameters">The parameters the optimizer updates (with <see cref="MasterWeights"/>: its <see cref="MasterWeights.Parameters"/>).</param>
        /// <returns>Whether the optimizer stepped.</returns>
        public bool Step(optim.Optimizer optimizer, IEnumerable<Parameter> parameters)
        {
            ArgumentNullException.ThrowIfNull(optimizer);
            ArgumentNullException.ThrowIfNull(parameters);

            if (!UnscaleAndCheckFinite(parameters)) {
                Update(gradientsFinite: false);
                return false;
            }

            optimizer.step();
            Update(gradientsFinite: true);
            return true;
        }

        /// <summary>
        /// Records one step's outcome for an optimizer that unscales and checks the gradients itself (ModelGen's
        /// <c>TrainingOptimizer.Step(LossScaler)</c>): an overflow counts a skipped step and backs the scale off; a clean step
        /// counts towards growth.
        /// </summary>
        /// <param name="gradientsFinite">Whether every gradient (on every rank) was finite.</param>
        public void Update(bool gradientsFinite)
        {
            if (!gradientsFinite) {
                SkippedSteps++;
                CurrentScale *= _backoffFactor;
                _cleanSteps = 0;
                return;
            }
            if (++_cleanSteps >= _growthInterval) {
                CurrentScale *= _growthFactor;
                _cleanSteps = 0;
            }
        }

        /// <summary>Unscales every gradient and reports whether all are finite, with one device-to-host read.</summary>
        private bool UnscaleAndCheckFinite(IEnumerable<Parameter> parameters)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var inverse = 1.0 / CurrentScale;
            Tensor? allFinite = null;
            foreach (var parameter in parameters) {
                if (parameter is null)
                    throw new ArgumentException("LossScaler.Step was given a null parameter.", nameof(parameters));
                if (parameter.grad is not { } gradient)
                    continue;
                gradient.mul_(inverse);
                var finite = gradient.isfinite().all();
                allFinite = allFinite is null ? finite : allFinite.logical_and_(finite.to(allFinite.device));
            }
            return allFinite is null || allFinite.item<bool>();
        }
    }
}
