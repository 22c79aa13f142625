using System;
using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Nn
{
    /// <summary>
    /// Self-attention with T5's relative position bias (Raffel et al. 2020, §2.1): <c>softmax(scale · q kᵀ + bias + mask) v</c> where the
    /// bias comes from the block's own <see cref="RelativePositionBias"/> table. Two-sided buckets without a mask (an encoder), or
    /// one-sided buckets with the causal mask (a decoder). Projections <c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c>, <c>o_proj</c> and the
    /// table <c>relative_attention_bias.weight</c>.
    /// </summary>
    /// <remarks>
    /// Always the eager core: TorchSharp's <c>scaled_dot_product_attention</c> accepts a float <c>attn_mask</c>, but a bias that needs
    /// a gradient makes its kernels keep or rebuild <c>s²</c> tensors that differ by device (the CPU runs the math path), so the eager
    /// core, whose tensors the memory model counts one by one, is the path that runs. T5 shares the first layer's table with its stack;
    /// here each block owns one (docs/encoder-decoder.md).
    /// </remarks>
    public sealed class RelativeAttention : nn.Module<Tensor, Tensor>
    {
        [ComponentName(Name = "q_proj")]
        private readonly Linear _qProj;
        [ComponentName(Name = "k_proj")]
        private readonly Linear _kProj;
        [ComponentName(Name = "v_proj")]
        private readonly Linear _vProj;
        [ComponentName(Name = "o_proj")]
        private readonly Linear _oProj;
        [ComponentName(Name = "relative_attention_bias")]
        private readonly RelativePositionBias _relativeBias;

        /// <summary>Creates the block, its four projections and its bias table.</summary>
        /// <param name="hidden">Model width.</param>
        /// <param name="heads">Heads; must divide <paramref name="hidden"/>.</param>
        /// <param name="causal">Causal mask and one-sided buckets (a decoder); false: two-sided, unmasked (an encoder).</param>
        /// <param name="buckets">Rows of the bias table.</param>
        /// <param name="maxDistance">Offsets from here on share the last bucket.</param>
        /// <param name="scaled">Scale scores by <c>1/√headDim</c> (false for T5).</param>
        /// <param name="bias">Biases on the projections.</param>
        /// <param name="dropout">Drop probability of attention weights in training, in [0, 1).</param>
        /// <param name="dtype">Element type of the weights; the default dtype when null.</param>
        /// <param name="device">Device of the weights; the default device when null.</param>
        /// <exception cref="ArgumentException">A size does not divide or a value is out of range.</exception>
        public RelativeAttention(long hidden, long heads, bool causal = false, long buckets = 32, long maxDistance = 128, bool scaled = false, bool bias = false,
            double dropout = 0, ScalarType? dtype = null, Device? device = null) : base(nameof(RelativeAttention))
        {
            HeadDim = EagerCore.CheckSizes(nameof(RelativeAttention), hidden, heads, dropout);
            Hidden = hidden;
            Heads = heads;
            Causal = causal;
            Scaled = scaled;
            Dropout = dropout;
            _qProj = nn.Linear(hidden, hidden, hasBias: bias, device: device, dtype: dtype);
            _kProj = nn.Linear(hidden, hidden, hasBias: bias, device: device, dtype: dtype);
            _vProj = nn.Linear(hidden, hidden, hasBias: bias, device: device, dtype: dtype);
            _oProj = nn.Linear(hidden, hidden, hasBias: bias, device: device, dtype: dtype);
            // T5 initializes the table with std = hidden^-0.5 (its factor 1.0).
            _relativeBias = new RelativePositionBias(buckets, heads, bidirectional: !causal, maxDistance, initStd: 1.0 / Math.Sqrt(hidden), dtype, device);
            RegisterComponents();
        }

        /// <summary>Model width.</summary>
        public long Hidden { get; }

        /// <summary>Heads.</summary>
        public long Heads { get; }

        /// <summary>Features per head.</summary>
        public long HeadDim { get; }

        /// <summary>Whether the causal mask applies (and buckets are one-sided).</summary>
        public bool Causal { get; }

        /// <summary>Whether scores are scaled by <c>1/√headDim</c>.</summary>
        public bool Scaled { get; }

        /// <summary>Drop probability of attention weights in training.</summary>
        public double Dropout { get; }

        /// <summary>Query projection.</summary>
        public Linear q_proj => _qProj;

        /// <summary>Key projection.</summary>
        public Linear k_proj => _kProj;

        /// <summary>Value projection.</summary>
        public Linear v_proj => _vProj;

        /// <summary>Output projection.</summary>
        public Linear o_proj => _oProj;

        /// <summary>The bias table.</summary>
        public RelativePositionBias relative_attention_bias => _relativeBias;

        /// <summary>Attends over the sequence.</summary>
        /// <param name="input"><c>[batch, seq, hidden]</c>.</param>
        /// <returns><c>[batch, seq, hidden]</c>.</returns>
        /// <exception cref="ArgumentException"><paramref name="input"/> is not <c>[batch, seq, hidden]</c>.</exception>
        public override Tensor forward(Tensor input)
        {
            EagerCore.CheckInput(nameof(RelativeAttention), "input", input, Hidden, nameof(input));
            using var scope = torch.NewDisposeScope();
            var seq = input.shape[1];
            var q = EagerCore.SplitHeads(_qProj.call(input), Heads, HeadDim);
            var k = EagerCore.SplitHeads(_kProj.call(input), Heads, HeadDim);
            var v = EagerCore.SplitHeads(_vProj.call(input), Heads, HeadDim);
            Tensor core;
            using (var bias = _relativeBias.Bias(seq, seq).to(q.dtype))
                core = EagerCore.Run(q, k, v, bias, Scaled ? 1.0 / Math.Sqrt(HeadDim) : 1.0, Causal, training ? Dropout : 0.0);
            return scope.MoveToOuter(_oProj.call(EagerCore.MergeHeads(core)));
        }
    }
}
