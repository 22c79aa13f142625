using System;
using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Nn
{
    /// <summary>
    /// The position-wise feed-forward block of a transformer (Vaswani et al. 2017, §3.3):
    /// <c>down(act(up(x)))</c> for <see cref="FeedForwardActivation.Gelu"/>, <see cref="FeedForwardActivation.GeluErf"/>,
    /// <see cref="FeedForwardActivation.Silu"/> and <see cref="FeedForwardActivation.Relu"/>; <c>down(act(gate(x)) · up(x))</c>
    /// for <see cref="FeedForwardActivation.SwiGlu"/> (silu) and <see cref="FeedForwardActivation.GeGlu"/> (tanh GELU) (Shazeer
    /// 2020, "GLU Variants Improve Transformer", eqs. 5–6), with projections named <c>gate_proj</c>, <c>up_proj</c>,
    /// <c>down_proj</c> as in Hugging Face Llama.
    /// </summary>
    /// <remarks>
    /// GELU is the tanh approximation <c>0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))</c> (Hendrycks &amp; Gimpel 2016, §2), which
    /// TorchSharp 0.107.0 exposes as <c>GELU.Approximate.tanh</c>: it is what GPT-2 was trained with (Hugging Face "gelu_new"),
    /// so GPT-2 checkpoints reproduce their outputs; it differs from the exact erf form (<see cref="FeedForwardActivation.GeluErf"/>,
    /// BERT's) by at most 4.8e-4.
    /// Dropout, when set, applies to the block's output in training mode only.
    /// </remarks>
    public sealed partial class FeedForward : nn.Module<Tensor, Tensor>
    {
        [ComponentName(Name = "gate_proj")]
        private readonly nn.Module<Tensor, Tensor>? _gateProj; // Linear, or QuantizedLinear with [Quantize] (FeedForward.Quantization.cs)
        [ComponentName(Name = "up_proj")]
        private readonly nn.Module<Tensor, Tensor> _upProj;
        [ComponentName(Name = "down_proj")]
        private readonly nn.Module<Tensor, Tensor> _downProj;

        /// <summary>Creates the block and its projections in <paramref name="dtype"/> on <paramref name="device"/>.</summary>
        /// <param name="hidden">Model width: input and output features.</param>
        /// <param name="inner">Width of the inner (expanded) layer.</param>
        /// <param name="activation">The activation, and with it whether a <c>gate_proj</c> exists.</param>
        /// <param name="bias">Whether the projections have biases.</param>
        /// <param name="dropout">Drop probability of the output in training, in [0, 1).</param>
        /// <param name="dtype">Element type of the weights; the default dtype when null.</param>
        /// <param name="device">Device of the weights; the default device when null.</param>
        /// <param name="quantize">Weight-only quantization of the projections (QuantizedLinear in <paramref name="dtype"/>); null = dense Linear.</param>
        /// <param name="compute">Mixed precision (docs/precision.md): the 16-bit dtype the block computes in from its
        /// <paramref name="dtype"/> (fp32) parameters; null computes in <paramref name="dtype"/>. See FeedForward.Autocast.cs.</param>
        /// <exception cref="ArgumentException">A size is not positive, the activation is unknown, the dropout is out of range, or
        /// <paramref name="compute"/> is not 16-bit or comes with <paramref name="quantize"/>.</exception>
        public FeedForward(
            long hidden,
            long inner,
            FeedForwardActivation activation = FeedForwardActivation.Gelu,
            bool bias = true,
            double dropout = 0,
            ScalarType? dtype = null,
            Device? device = null,
            ModelGen.Quantization.ProjectionQuantization? quantize = null,
            ScalarType? compute = null) : base(nameof(FeedForward))
        {
            if (hidden <= 0 || inner <= 0)
                throw new ArgumentException($"FeedForward sizes must be positive, but hidden = {hidden}, inner = {inner}.");
            if (!Enum.IsDefined(activation))
                throw new ArgumentException($"FeedForward activation {(int)activation} is not a FeedForwardActivation value.", nameof(activation));
            if (!(dropout >= 0 && dropout < 1))
                throw new ArgumentException($"FeedForward dropout must be in [0, 1), but it is {dropout}.", nameof(dropout));

            Hidden = hidden;
            Inner = inner;
            Activation = activation;
            Dropout = dropout;
            Quantization = quantize;
            Compute = CheckCompute(compute, quantize);
            if (IsGated(activation))
                _gateProj = CreateProjection("gate_proj", hidden, inner, bias, dtype, device);
            _upProj = CreateProjection("up_proj", hidden, inner, bias, dtype, device);
            _downProj = CreateProjection("down_proj", inner, hidden, bias, dtype, device);
            RegisterComponents();
        }

        /// <summary>Model width.</summary>
        public long Hidden { get; }

        /// <summary>Inner width.</summary>
        public long Inner { get; }

        /// <summary>The activation.</summary>
        public FeedForwardActivation Activation { get; }

        /// <summary>Drop probability of the output in training.</summary>
        public double Dropout { get; }

        /// <summary>Whether <paramref name="activation"/> multiplies a gate projection with the up projection (SwiGLU, GeGLU).</summary>
        public static bool IsGated(FeedForwardActivation activation) => activation is FeedForwardActivation.SwiGlu or FeedForwardActivation.GeGlu;

        /// <summary>The activated inner tensor: <c>act(gate) · up</c> for the gated activations, <c>act(up)</c> for the others.</summary>
        /// <param name="activation">The activation.</param>
        /// <param name="gate">The gate projection's output; required for the gated activations, ignored otherwise.</param>
        /// <param name="up">The up projection's output.</param>
        /// <returns>A new tensor shaped like <paramref name="up"/>.</returns>
        /// <exception cref="ArgumentException">A gated activation without <paramref name="gate"/>, or an unknown activation.</exception>
        public static Tensor Activate(FeedForwardActivation activation, Tensor? gate, Tensor up)
        {
            ArgumentNullException.ThrowIfNull(up);
            if (IsGated(activation) && gate is null)
                throw new ArgumentException($"The {activation} activation multiplies a gate, but none was given.", nameof(gate));
            return activation switch
            {
                FeedForwardActivation.SwiGlu => nn.functional.silu(gate!) * up,
                FeedForwardActivation.GeGlu => nn.functional.gelu(gate!, GELU.Approximate.tanh) * up,
                FeedForwardActivation.Silu => nn.functional.silu(up),
                FeedForwardActivation.Gelu => nn.functional.gelu(up, GELU.Approximate.tanh),
                FeedForwardActivation.GeluErf => nn.functional.gelu(up, GELU.Approximate.none),
                FeedForwardActivation.Relu => nn.functional.relu(up),
                _ => throw new ArgumentException($"FeedForward activation {(int)activation} is not a FeedForwardActivation value.", nameof(activation)),
            };
        }

        /// <summary>Gate projection <c>hidden → inner</c>; present only for the gated activations (<see cref="IsGated"/>).</summary>
        public Linear? gate_proj => _gateProj is null ? null : Dense(_gateProj, "gate_proj");

        /// <summary>Up projection, <c>hidden → inner</c>.</summary>
        public Linear up_proj => Dense(_upProj, "up_proj");

        /// <summary>Down projection, <c>inner → hidden</c>.</summary>
        public Linear down_proj => Dense(_downProj, "down_proj");

        /// <summary>Applies the block position by position.</summary>
        /// <param name="input"><c>[..., hidden]</c>.</param>
        /// <returns><c>[..., hidden]</c>.</returns>
        /// <exception cref="ArgumentException">The last dimension of <paramref name="input"/> is not <see cref="Hidden"/>.</exception>
        public override Tensor forward(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            if (input.dim() == 0 || input.shape[^1] != Hidden)
                throw new ArgumentException(
                    $"FeedForward(hidden {Hidden}) expects input [..., {Hidden}] but got [{string.Join(", ", input.shape)}].", nameof(input));

            using var scope = torch.NewDisposeScope();
            var x = ComputeInput(input); // under mixed precision one 16-bit copy, shared by the projections (FeedForward.Autocast.cs)
            var up = _upProj.call(x);
            var activated = Activate(Activation, IsGated(Activation) ? _gateProj!.call(x) : null, up);
            var output = _downProj.call(activated);
            if (Dropout > 0) output = nn.functional.dropout(output, Dropout, training);
            return scope.MoveToOuter(ResidualOutput(output, input));
        }
    }
}
