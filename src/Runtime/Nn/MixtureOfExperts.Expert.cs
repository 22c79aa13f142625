using System;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace ModelGen.Nn
{
    /// <summary>
    /// One expert of a <see cref="MixtureOfExperts"/>: a bias-free feed-forward with Mixtral's names, <c>w2(act(w1(x)) · w3(x))</c>
    /// for the gated activations (SwiGLU, GeGLU) and <c>w2(act(w1(x)))</c> for the others (Hugging Face <c>MixtralBlockSparseTop2MLP</c>).
    /// </summary>
    public sealed class ExpertFeedForward : nn.Module<Tensor, Tensor>
    {
        [ComponentName(Name = "w1")]
        private readonly Linear _w1;
        [ComponentName(Name = "w2")]
        private readonly Linear _w2;
        [ComponentName(Name = "w3")]
        private readonly Linear? _w3;

        /// <summary>Creates the expert's projections in <paramref name="dtype"/> on <paramref name="device"/>.</summary>
        /// <param name="hidden">Model width.</param>
        /// <param name="inner">Inner width.</param>
        /// <param name="activation">The activation; the gated ones add <c>w3</c>.</param>
        /// <param name="dtype">Element type of the weights; the default dtype when null.</param>
        /// <param name="device">Device of the weights; the default device when null.</param>
        /// <exception cref="ArgumentException">A size is not positive, or the activation is unknown.</exception>
        public ExpertFeedForward(long hidden, long inner, FeedForwardActivation activation, ScalarType? dtype = null, Device? device = null)
            : base(nameof(ExpertFeedForward))
        {
            if (hidden <= 0 || inner <= 0)
                throw new ArgumentException($"ExpertFeedForward sizes must be positive, but hidden = {hidden}, inner = {inner}.");
            if (!Enum.IsDefined(activation))
                throw new ArgumentException($"ExpertFeedForward activation {(int)activation} is not a FeedForwardActivation value.", nameof(activation));
            Activation = activation;
            _w1 = nn.Linear(hidden, inner, hasBias: false, device: device, dtype: dtype);
            _w2 = nn.Linear(inner, hidden, hasBias: false, device: device, dtype: dtype);
            if (FeedForward.IsGated(activation))
                _w3 = nn.Linear(hidden, inner, hasBias: false, device: device, dtype: dtype);
            RegisterComponents();
        }

        /// <summary>The activation.</summary>
        public FeedForwardActivation Activation { get; }

        /// <summary>The activation's input projection, <c>hidden → inner</c> (Llama's <c>gate_proj</c> when gated).</summary>
        public Linear w1 => _w1;

        /// <summary>Down projection, <c>inner → hidden</c>.</summary>
        public Linear w2 => _w2;

        /// <summary>Up projection, <c>hidden → inner</c>; present only for the gated activations.</summary>
        public Linear? w3 => _w3;

        /// <summary>Applies the expert to the rows routed to it.</summary>
        /// <param name="input"><c>[rows, hidden]</c>.</param>
        /// <returns><c>[rows, hidden]</c>.</returns>
        public override Tensor forward(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            using var scope = torch.NewDisposeScope();
            var first = _w1.call(input);
            // FeedForward.Activate takes (gate, up): w1 is the gate when gated, the only projection otherwise.
            var activated = _w3 is null ? FeedForward.Activate(Activation, null, first) : FeedForward.Activate(Activation, first, _w3.call(input));
            return scope.MoveToOuter(_w2.call(activated));
        }
    }
}
