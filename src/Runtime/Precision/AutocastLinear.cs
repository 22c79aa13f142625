using System;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace ModelGen
{
    /// <summary>
    /// A Linear layer under mixed precision (<c>[Precision(DType.Float32, Compute = DType.BFloat16)]</c>): its parameters are fp32,
    /// and each forward multiplies a 16-bit cast of its input by a 16-bit cast of its weight, as PyTorch's autocast does for
    /// <c>linear</c> (an op of its lower-precision list, aten/src/ATen/autocast_mode.h). The result is in the compute dtype.
    /// </summary>
    /// <remarks>
    /// TorchSharp has no autocast, so the cast is written here. The casts are ordinary differentiable ops: autograd keeps the
    /// 16-bit input and the 16-bit weight copy for backward (what the memory model counts), and the weight's gradient arrives in
    /// fp32 through the cast's backward, so the optimizer updates fp32 parameters without a master copy. Each call casts its
    /// weight again (autocast caches one cast per region; a Linear called twice here holds two copies, and is counted twice).
    /// State_dict keys are <c>weight</c> and <c>bias</c>, as for TorchSharp's <c>Linear</c>; initialization is the same
    /// (uniform in ±1/√in for both).
    /// </remarks>
    public sealed class AutocastLinear : nn.Module<Tensor, Tensor>
    {
        [ComponentName(Name = "weight")]
        private readonly Parameter _weight;

        [ComponentName(Name = "bias")]
        private readonly Parameter? _bias;

        /// <summary>Creates the layer with fp32 (or <paramref name="storage"/>) parameters computing in <paramref name="compute"/>.</summary>
        /// <param name="inputSize">Input features.</param>
        /// <param name="outputSize">Output features.</param>
        /// <param name="hasBias">Whether it adds a learned bias.</param>
        /// <param name="compute">The dtype the product is computed in: BFloat16 or Float16.</param>
        /// <param name="storage">The parameters' dtype (Float32 unless a block's own [Precision] says otherwise).</param>
        /// <param name="device">Where the parameters are created.</param>
        /// <exception cref="ArgumentException">A size is not positive, or <paramref name="compute"/> is not a 16-bit floating dtype.</exception>
        public AutocastLinear(long inputSize, long outputSize, bool hasBias, ScalarType compute, ScalarType storage = ScalarType.Float32, Device? device = null)
            : base(nameof(AutocastLinear))
        {
            if (inputSize <= 0 || outputSize <= 0)
                throw new ArgumentException($"AutocastLinear needs positive sizes, got in = {inputSize}, out = {outputSize}.", nameof(inputSize));
            if (compute is not (ScalarType.BFloat16 or ScalarType.Float16))
                throw new ArgumentException($"AutocastLinear computes in BFloat16 or Float16, not {compute}.", nameof(compute));
            InputSize = inputSize;
            OutputSize = outputSize;
            ComputeType = compute;
            var bound = 1.0 / Math.Sqrt(inputSize);
            using (no_grad())
            {
                _weight = new Parameter(torch.empty(outputSize, inputSize, dtype: storage, device: device).uniform_(-bound, bound));
                _bias = hasBias ? new Parameter(torch.empty(outputSize, dtype: storage, device: device).uniform_(-bound, bound)) : null;
            }
            RegisterComponents();
        }

        /// <summary>Input features.</summary>
        public long InputSize { get; }

        /// <summary>Output features.</summary>
        public long OutputSize { get; }

        /// <summary>The 16-bit dtype the product is computed in.</summary>
        public ScalarType ComputeType { get; }

        /// <summary>The weight, <c>[out, in]</c>, in its storage dtype.</summary>
        public Parameter weight => _weight;

        /// <summary>The bias, <c>[out]</c>, or null.</summary>
        public Parameter? bias => _bias;

        /// <summary><c>cast(x) · cast(W)ᵀ + cast(b)</c> in <see cref="ComputeType"/>.</summary>
        /// <param name="input">Floating-point, shape <c>[..., in]</c>.</param>
        /// <exception cref="ArgumentException">The input is not floating-point or its last dimension is not <see cref="InputSize"/>.</exception>
        public override Tensor forward(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            if (!input.is_floating_point())
                throw new ArgumentException($"AutocastLinear needs a floating-point input, got {input.dtype}.", nameof(input));
            if (input.dim() == 0 || input.shape[^1] != InputSize)
                throw new ArgumentException($"AutocastLinear({InputSize}, {OutputSize}) expects input [..., {InputSize}] but got [{string.Join(", ", input.shape)}].", nameof(input));
            using var scope = NewDisposeScope();
            var x = input.dtype == ComputeType ? input : input.to_type(ComputeType);
            var w = _weight.dtype == ComputeType ? _weight : _weight.to_type(ComputeType);
            var b = _bias is null ? null : _bias.dtype == ComputeType ? _bias : _bias.to_type(ComputeType);
            return scope.MoveToOuter(nn.functional.linear(x, w, b));
        }

        /// <inheritdoc/>
        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _weight.Dispose();
                _bias?.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
