using System;
using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Nn
{
    /// <summary>
    /// Self-attention with separate projections <c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c>, <c>o_proj</c> (the Hugging Face Llama
    /// state_dict layout). Multi-head when <see cref="KvHeads"/> equals <see cref="Heads"/> (Vaswani et al. 2017, §3.2.2),
    /// grouped-query when it divides it (Ainslie et al. 2023, "GQA"), multi-query when it is 1 (Shazeer 2019).
    /// </summary>
    /// <remarks>
    /// Query head <c>h</c> reads key/value head <c>h / (Heads / KvHeads)</c>, the order Hugging Face's <c>repeat_kv</c> uses, so
    /// checkpoints load unchanged. Dropout, when set, applies to the attention probabilities and only in training mode.
    /// The rotary tables are cached outside the state_dict (see <see cref="RotaryEmbedding"/>).
    /// </remarks>
    public sealed partial class Attention : nn.Module<Tensor, Tensor>
    {
        [ComponentName(Name = "q_proj")]
        private readonly nn.Module<Tensor, Tensor> _qProj; // Linear, or QuantizedLinear with [Quantize] (Attention.Quantization.cs)
        [ComponentName(Name = "k_proj")]
        private readonly nn.Module<Tensor, Tensor> _kProj; // Linear, or QuantizedLinear with [Quantize] (Attention.Quantization.cs)
        [ComponentName(Name = "v_proj")]
        private readonly nn.Module<Tensor, Tensor> _vProj; // Linear, or QuantizedLinear with [Quantize] (Attention.Quantization.cs)
        [ComponentName(Name = "o_proj")]
        private readonly nn.Module<Tensor, Tensor> _oProj; // Linear, or QuantizedLinear with [Quantize] (Attention.Quantization.cs)

        // Not a Module or Tensor, so RegisterComponents leaves it out of the state_dict.
        private readonly RotaryEmbedding? _rotary;

        /// <summary>Creates the block and its four projections in <paramref name="dtype"/> on <paramref name="device"/>.</summary>
        /// <param name="hidden">Model width: input and output features.</param>
        /// <param name="heads">Query heads; must divide <paramref name="hidden"/>.</param>
        /// <param name="kvHeads">Key/value heads; must divide <paramref name="heads"/>.</param>
        /// <param name="causal">Whether position <c>i</c> attends only to positions <c>≤ i</c>.</param>
        /// <param name="rotary">Whether queries and keys get rotary position embedding.</param>
        /// <param name="ropeTheta">Rotary base; used only when <paramref name="rotary"/> is true.</param>
        /// <param name="fused">Use <c>scaled_dot_product_attention</c> (no <c>s × s</c> probabilities kept when a fused kernel runs) instead of the eager softmax.</param>
        /// <param name="bias">Whether the four projections have biases.</param>
        /// <param name="dropout">Drop probability of attention weights in training, in [0, 1).</param>
        /// <param name="dtype">Element type of the projection weights; the default dtype when null.</param>
        /// <param name="device">Device of the projection weights; the default device when null.</param>
        /// <param name="quantize">Weight-only quantization of the four projections (QuantizedLinear in <paramref name="dtype"/>); null = dense Linear.</param>
        /// <param name="compute">Mixed precision (docs/precision.md): the 16-bit dtype the block computes in from its
        /// <paramref name="dtype"/> (fp32) parameters; null computes in <paramref name="dtype"/>. See Attention.Autocast.cs.</param>
        /// <exception cref="ArgumentException">A size does not divide as required, a value is out of range, or
        /// <paramref name="compute"/> is not 16-bit or comes with <paramref name="quantize"/>.</exception>
        public Attention(
            long hidden,
            long heads,
            long kvHeads,
            bool causal = true,
            bool rotary = false,
            double ropeTheta = 10000,
            bool fused = true,
            bool bias = false,
            double dropout = 0,
            ScalarType? dtype = null,
            Device? device = null,
            ModelGen.Quantization.ProjectionQuantization? quantize = null,
            ScalarType? compute = null) : base(nameof(Attention))
        {
            if (hidden <= 0 || heads <= 0 || kvHeads <= 0)
                throw new ArgumentException($"Attention sizes must be positive, but hidden = {hidden}, heads = {heads}, kvHeads = {kvHeads}.");
            if (hidden % heads != 0)
                throw new ArgumentException($"Attention hidden size {hidden} is not divisible by heads = {heads}.", nameof(heads));
            if (heads % kvHeads != 0)
                throw new ArgumentException($"Attention heads = {heads} is not divisible by kvHeads = {kvHeads}; each key/value head must serve the same number of query heads.", nameof(kvHeads));
            if (!(dropout >= 0 && dropout < 1))
                throw new ArgumentException($"Attention dropout must be in [0, 1), but it is {dropout}.", nameof(dropout));

            Hidden = hidden;
            Heads = heads;
            KvHeads = kvHeads;
            HeadDim = hidden / heads;
            Causal = causal;
            Fused = fused;
            Dropout = dropout;
            if (rotary) _rotary = new RotaryEmbedding(HeadDim, ropeTheta);

            Quantization = quantize;
            Compute = FeedForward.CheckCompute(compute, quantize);
            _qProj = CreateProjection("q_proj", hidden, heads * HeadDim, bias, dtype, device);
            _kProj = CreateProjection("k_proj", hidden, kvHeads * HeadDim, bias, dtype, device);
            _vProj = CreateProjection("v_proj", hidden, kvHeads * HeadDim, bias, dtype, device);
            _oProj = CreateProjection("o_proj", heads * HeadDim, hidden, bias, dtype, device);
            RegisterComponents();
        }

        /// <summary>Model width.</summary>
        public long Hidden { get; }

        /// <summary>Query heads.</summary>
        public long Heads { get; }

        /// <summary>Key/value heads.</summary>
        public long KvHeads { get; }

        /// <summary>Features per head, <c>hidden / heads</c>.</summary>
        public long HeadDim { get; }

        /// <summary>Whether the causal mask applies.</summary>
        public bool Causal { get; }

        /// <summary>Whether the core runs through <c>scaled_dot_product_attention</c>.</summary>
        public bool Fused { get; }

        /// <summary>Drop probability of attention weights in training.</summary>
        public double Dropout { get; }

        /// <summary>
        /// Sliding-window attention (Mistral; Beltagy et al. 2020, "Longformer"): each query sees itself and the
        /// <c>SlidingWindow − 1</c> keys before it; null sees every earlier key. Causal attention only. TorchSharp's fused kernels take
        /// no window, so a windowed block runs the eager core (its <c>s²</c> scores exist as for <c>fused: false</c>).
        /// </summary>
        /// <exception cref="ArgumentException">Set to a value below 1, or on a non-causal block.</exception>
        public long? SlidingWindow
        {
            get => _slidingWindow;
            init
            {
                if (value is < 1)
                    throw new ArgumentException($"Attention SlidingWindow must be at least 1, but it is {value}.", nameof(value));
                if (value is not null && !Causal)
                    throw new ArgumentException("Attention SlidingWindow needs causal attention: a window looks back from each query.", nameof(value));
                _slidingWindow = value;
            }
        }

        private readonly long? _slidingWindow;

        /// <summary>The rotary embedding applied to queries and keys, or null when the block has none.</summary>
        public RotaryEmbedding? Rotary => _rotary;

        /// <summary>Query projection, <c>hidden → heads · headDim</c>.</summary>
        public Linear q_proj => Dense(_qProj, "q_proj");

        /// <summary>Key projection, <c>hidden → kvHeads · headDim</c>.</summary>
        public Linear k_proj => Dense(_kProj, "k_proj");

        /// <summary>Value projection, <c>hidden → kvHeads · headDim</c>.</summary>
        public Linear v_proj => Dense(_vProj, "v_proj");

        /// <summary>Output projection, <c>heads · headDim → hidden</c>.</summary>
        public Linear o_proj => Dense(_oProj, "o_proj");

        /// <summary>Attends over the sequence.</summary>
        /// <param name="input"><c>[batch, seq, hidden]</c>.</param>
        /// <returns><c>[batch, seq, hidden]</c>.</returns>
        /// <exception cref="ArgumentException"><paramref name="input"/> is not <c>[batch, seq, hidden]</c>.</exception>
        public override Tensor forward(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            if (input.dim() != 3 || input.shape[2] != Hidden)
                throw new ArgumentException(
                    $"Attention(hidden {Hidden}) expects input [batch, seq, {Hidden}] but got [{string.Join(", ", input.shape)}].", nameof(input));
            if (Binding is { } bound) // a generated model's cached forward (Attention.Binding.cs)
                return forward(input, bound.Cache, bound.Positions, bound.Padding);

            using var scope = torch.NewDisposeScope();
            long batch = input.shape[0], seq = input.shape[1];
            var x = ComputeInput(input); // under mixed precision one 16-bit copy, shared by q/k/v (Attention.Autocast.cs)
            var q = SplitHeads(_qProj.call(x), batch, seq, Heads);
            var k = SplitHeads(_kProj.call(x), batch, seq, KvHeads);
            var v = SplitHeads(_vProj.call(x), batch, seq, KvHeads);
            if (_rotary is not null)
            {
                q = _rotary.Apply(q);
                k = _rotary.Apply(k);
            }
            k = RepeatKv(k);
            v = RepeatKv(v);

            var core = CheckpointCore
                ? Checkpoint.Run(Array.Empty<Parameter>(), qkv => Core(qkv[0], qkv[1], qkv[2]), torch.stack(new[] { q, k, v }))
                : Core(q, k, v);
            var context = core.transpose(1, 2).reshape(batch, seq, Heads * HeadDim);
            return scope.MoveToOuter(ResidualOutput(_oProj.call(context), input));
        }

        /// <summary>
        /// Selective activation checkpointing (Korthikanti et al. 2022, §4.2): when true, the core's activations (the <c>s²</c>
        /// scores, probabilities and dropout mask of eager attention) are not kept but recomputed during backward; the projections'
        /// activations are kept. Set by the generator for layers marked <c>[Checkpoint(CheckpointMode.Selective)]</c>.
        /// </summary>
        public bool CheckpointCore { get; set; }

        /// <summary>
        /// The attention core alone, <c>softmax(q kᵀ / √headDim + mask) v</c> (Vaswani et al. 2017, eq. 1) with this block's mask, dropout and kernel choice:
        /// the part selective checkpointing recomputes (Korthikanti et al. 2022, §4.2), since it saves the <c>s²</c> terms.
        /// </summary>
        /// <param name="q">Projected (and rotated) queries, <c>[batch, heads, seq, headDim]</c>.</param>
        /// <param name="k">Keys, already rotated and repeated to <see cref="Heads"/> heads, <c>[batch, heads, seq, headDim]</c>.</param>
        /// <param name="v">Values, already repeated to <see cref="Heads"/> heads, <c>[batch, heads, seq, headDim]</c>.</param>
        /// <returns>The attended values, <c>[batch, heads, seq, headDim]</c>.</returns>
        /// <exception cref="ArgumentException">A shape does not match.</exception>
        public Tensor Core(Tensor q, Tensor k, Tensor v)
        {
            ArgumentNullException.ThrowIfNull(q);
            ArgumentNullException.ThrowIfNull(k);
            ArgumentNullException.ThrowIfNull(v);
            CheckCoreShapes(q, k, v);

            var dropout = training ? Dropout : 0.0;
            long queries = q.shape[2], keys = k.shape[2];
            if (Fused && _slidingWindow is null && (!Causal || queries == keys))
                return nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: null, p: dropout, is_casual: Causal);
            if (Compute is not null)
                return AutocastEagerCore(q, k, v, dropout); // fp32 softmax output, as autocast runs softmax (Attention.Autocast.cs)

            // Each temporary is freed as soon as the next op has read it, so the eager path holds at most q kᵀ and one fp32 copy
            // of it beside what autograd saves (the probabilities in v's dtype, the dropout mask and the dropped probabilities).
            Tensor probabilities;
            using (var keysT = k.transpose(-2, -1))
            using (var scores = q.matmul(keysT))
            {
                // Upcast inside the softmax, as Hugging Face's eager attention does (a bf16 softmax over thousands of keys loses
                // the small probabilities), but saved in v's dtype as Megatron's fused softmax does (ScaledMaskedSoftmax).
                probabilities = ScaledMaskedSoftmax.Apply(scores, 1.0 / Math.Sqrt(HeadDim), Causal, window: _slidingWindow ?? 0);
            }
            if (dropout > 0)
            {
                using var kept = probabilities;
                probabilities = nn.functional.dropout(kept, dropout, training);
            }
            using (probabilities)
                return probabilities.matmul(v);
        }

        /// <inheritdoc/>
        protected override void Dispose(bool disposing)
        {
            if (disposing) _rotary?.Dispose();
            base.Dispose(disposing);
        }

        private Tensor SplitHeads(Tensor projected, long batch, long seq, long heads) =>
            projected.view(batch, seq, heads, HeadDim).transpose(1, 2);

        /// <summary>[b, kvHeads, s, d] → [b, heads, s, d], each key/value head repeated for its group of consecutive query heads.</summary>
        private Tensor RepeatKv(Tensor x)
        {
            if (KvHeads == Heads) return x;
            long batch = x.shape[0], seq = x.shape[2], group = Heads / KvHeads;
            return x.unsqueeze(2).expand(batch, KvHeads, group, seq, HeadDim).reshape(batch, Heads, seq, HeadDim);
        }

        private void CheckCoreShapes(Tensor q, Tensor k, Tensor v)
        {
            static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
            if (q.dim() != 4 || q.shape[1] != Heads || q.shape[3] != HeadDim)
                throw new ArgumentException(
                    $"Attention core expects q as [batch, {Heads}, seq, {HeadDim}] but got {Shape(q)}.", nameof(q));
            if (k.dim() != 4 || k.shape[0] != q.shape[0] || k.shape[1] != Heads || k.shape[3] != HeadDim)
                throw new ArgumentException(
                    $"Attention core expects k as [{q.shape[0]}, {Heads}, seq, {HeadDim}] (repeated to all query heads) but got {Shape(k)}.", nameof(k));
            if (!v.shape.AsSpan().SequenceEqual(k.shape))
                throw new ArgumentException($"Attention core expects v shaped like k {Shape(k)} but got {Shape(v)}.", nameof(v));
            if (Causal && q.shape[2] > k.shape[2])
                throw new ArgumentException(
                    $"Causal attention core expects at most as many queries as keys (queries are the last positions), but q has {q.shape[2]} and k has {k.shape[2]}.", nameof(k));
        }
    }
}
