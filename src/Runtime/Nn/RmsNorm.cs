using System;
using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Nn
{
    /// <summary>
    /// Root-mean-square layer normalization over the last dimension, with a learned per-feature scale and no bias or centering:
    /// <c>y = weight · x / sqrt(mean(x²) + eps)</c> (Zhang &amp; Sennrich 2019, "Root Mean Square Layer Normalization", eq. 4).
    /// </summary>
    /// <remarks>
    /// TorchSharp 0.107.0 has no <c>nn.RMSNorm</c> (nor <c>functional.rms_norm</c>), so this module supplies it. It also fixes the
    /// precision policy the way Llama does: the mean of squares and the division run in fp32 whatever the input dtype, the result
    /// is cast back to the input dtype and only then multiplied by <see cref="weight"/>. Summing thousands of squares in bf16 would
    /// lose most of the 8-bit mantissa; doing it in fp32 costs one transient fp32 copy of the input.
    /// The state_dict key of the scale is <c>weight</c>, as in Hugging Face Llama checkpoints.
    /// </remarks>
    public sealed class RmsNorm : nn.Module<Tensor, Tensor>
    {
        const string WeightComponentName = nameof(weight);

        [ComponentName(Name = WeightComponentName)]
        private Parameter? _weight;

        /// <summary>Creates the norm with its scale initialized to ones.</summary>
        /// <param name="hidden">Size of the normalized (last) dimension.</param>
        /// <param name="eps">Added to the mean of squares before the square root, for numerical stability.</param>
        /// <param name="dtype">Element type of <see cref="weight"/>; the default dtype when null.</param>
        /// <param name="device">Device of <see cref="weight"/>; the default device when null.</param>
        /// <exception cref="ArgumentException"><paramref name="hidden"/> is not positive or <paramref name="eps"/> is negative or not finite.</exception>
        public RmsNorm(long hidden, double eps = 1e-6, ScalarType? dtype = null, Device? device = null) : base(nameof(RmsNorm))
        {
            if (hidden <= 0)
                throw new ArgumentException($"RmsNorm needs a positive hidden size, but hidden = {hidden}.", nameof(hidden));
            if (!(eps >= 0) || double.IsInfinity(eps))
                throw new ArgumentException($"RmsNorm needs a finite, non-negative eps, but eps = {eps}.", nameof(eps));

            Hidden = hidden;
            Eps = eps;
            weight = new Parameter(torch.ones(hidden, dtype: dtype, device: device));
            RegisterComponents();
        }

        /// <summary>Size of the normalized (last) dimension.</summary>
        public long Hidden { get; }

        /// <summary>Added to the mean of squares before the square root.</summary>
        public double Eps { get; }

        /// <summary>The learned per-feature scale, shape <c>[hidden]</c>.</summary>
        public Parameter weight {
            get => _weight!;
            set {
                ArgumentNullException.ThrowIfNull(value);
                if (value.Handle == _weight?.Handle) return;
                _weight?.Dispose();
                _weight = (Parameter)value.DetachFromDisposeScope();
                ConditionallyRegisterParameter(WeightComponentName, _weight);
            }
        }

        /// <summary>Normalizes <paramref name="input"/> over its last dimension, which must have size <see cref="Hidden"/>.</summary>
        /// <param name="input">Any shape <c>[..., hidden]</c>, floating point.</param>
        /// <returns>The same shape; dtype is the promotion of the input dtype and the weight dtype (the input dtype when they match).</returns>
        /// <exception cref="ArgumentException">The last dimension of <paramref name="input"/> is not <see cref="Hidden"/>.</exception>
        public override Tensor forward(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            if (input.dim() == 0 || input.shape[^1] != Hidden)
                throw new ArgumentException(
                    $"RmsNorm({Hidden}) expects input [..., {Hidden}] but got [{string.Join(", ", input.shape)}].", nameof(input));

            using var scope = torch.NewDisposeScope();
            var inputType = input.dtype;
            var x = input.to(ScalarType.Float32);
            var meanSquare = x.square().mean(new long[] { -1 }, keepdim: true);
            var normalized = (x * (meanSquare + Eps).rsqrt()).to(inputType);
            return scope.MoveToOuter(weight * normalized);
        }

        /// <inheritdoc/>
        protected override void Dispose(bool disposing)
        {
            if (disposing) _weight?.Dispose();
            base.Dispose(disposing);
        }
    }
}
