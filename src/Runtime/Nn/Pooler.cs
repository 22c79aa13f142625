using System;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace ModelGen.Nn
{
    /// <summary>
    /// BERT's pooler (Devlin et al. 2019, §3; Hugging Face <c>BertPooler</c>): <c>tanh(dense(x[:, 0]))</c>, one row per sequence
    /// from the first token's hidden state. The first token is copied out of the hidden states before <c>dense</c> reads it, so
    /// autograd keeps <c>batch × hidden</c> elements rather than a view of the whole <c>[batch, seq, hidden]</c> tensor.
    /// </summary>
    public sealed class Pooler : nn.Module<Tensor, Tensor>
    {
        [ComponentName(Name = "dense")]
        private readonly Linear _dense;

        /// <summary>Creates the pooler's <c>hidden → hidden</c> Linear (with bias) in <paramref name="dtype"/> on <paramref name="device"/>.</summary>
        /// <param name="hidden">Hidden size.</param>
        /// <param name="dtype">Element type of the weights; the default dtype when null.</param>
        /// <param name="device">Device of the weights; the default device when null.</param>
        /// <exception cref="ArgumentException"><paramref name="hidden"/> is not positive.</exception>
        public Pooler(long hidden, ScalarType? dtype = null, Device? device = null) : base(nameof(Pooler))
        {
            if (hidden <= 0)
                throw new ArgumentException($"Pooler hidden size must be positive, but it is {hidden}.", nameof(hidden));
            Hidden = hidden;
            _dense = nn.Linear(hidden, hidden, hasBias: true, device: device, dtype: dtype);
            RegisterComponents();
        }

        /// <summary>Hidden size.</summary>
        public long Hidden { get; }

        /// <summary>The <c>hidden → hidden</c> projection.</summary>
        public Linear dense => _dense;

        /// <summary>Pools each sequence into its first token's transformed state.</summary>
        /// <param name="input"><c>[batch, seq, hidden]</c>.</param>
        /// <returns><c>[batch, hidden]</c>.</returns>
        /// <exception cref="ArgumentException"><paramref name="input"/> is not <c>[batch, seq, hidden]</c> with seq ≥ 1.</exception>
        public override Tensor forward(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            if (input.dim() != 3 || input.shape[1] < 1 || input.shape[2] != Hidden)
                throw new ArgumentException(
                    $"Pooler(hidden {Hidden}) expects input [batch, seq ≥ 1, {Hidden}] but got [{string.Join(", ", input.shape)}].", nameof(input));
            using var scope = NewDisposeScope();
            var first = input.select(1, 0).contiguous();
            return scope.MoveToOuter(_dense.call(first).tanh());
        }
    }
}
