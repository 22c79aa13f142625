using System;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace ModelGen.Nn
{
    /// <summary>
    /// A sparse mixture-of-experts feed-forward with top-k routing (Shazeer et al. 2017; Mixtral, Jiang et al. 2024, §2.1):
    /// <c>y = Σ_{e ∈ topk(p)} (p_e / Σ_topk p) · expert_e(x)</c> with <c>p = softmax(gate(x))</c> in fp32. Tokens are routed by
    /// gather and scatter-add: the flattened (token, choice) pairs are sorted by expert, each expert runs once on the rows routed
    /// to it (<c>index_select</c>), and its weighted output is added back to its tokens (<c>index_add_</c>), so an expert computes
    /// only its tokens and no dense all-experts product is formed. State names follow Hugging Face Mixtral
    /// (<c>gate</c>, <c>experts.N.w1/w2/w3</c>); see docs/moe.md.
    /// </summary>
    /// <remarks>
    /// Capacity: <see cref="CapacityFactor"/> 0 is dropless. Above 0 each expert takes at most
    /// <c>ceil(CapacityFactor · tokens · TopK / Experts)</c> rows per forward (Fedus et al. 2021, §2.2), in token order; a dropped
    /// route adds nothing and the remaining weights are not renormalised (the residual connection carries the token).
    /// </remarks>
    public sealed class MixtureOfExperts : nn.Module<Tensor, Tensor>
    {
        [ComponentName(Name = "gate")]
        private readonly Linear _gate;
        [ComponentName(Name = "experts")]
        private readonly ModuleList<ExpertFeedForward> _experts;

        /// <summary>Creates the router and the experts in <paramref name="dtype"/> on <paramref name="device"/>.</summary>
        /// <param name="hidden">Model width: input and output features.</param>
        /// <param name="inner">Inner width of each expert.</param>
        /// <param name="experts">Number of experts.</param>
        /// <param name="topK">Experts per token, 1 … <paramref name="experts"/>.</param>
        /// <param name="activation">Each expert's activation.</param>
        /// <param name="capacityFactor">0 for dropless routing; otherwise a positive finite factor.</param>
        /// <param name="dtype">Element type of the weights; the default dtype when null.</param>
        /// <param name="device">Device of the weights; the default device when null.</param>
        /// <exception cref="ArgumentException">A size is not positive, top-k is outside 1 … experts, or the capacity factor is negative or not finite.</exception>
        public MixtureOfExperts(
            long hidden,
            long inner,
            long experts,
            long topK = 2,
            FeedForwardActivation activation = FeedForwardActivation.SwiGlu,
            double capacityFactor = 0,
            ScalarType? dtype = null,
            Device? device = null) : base(nameof(MixtureOfExperts))
        {
            if (hidden <= 0 || inner <= 0 || experts <= 0)
                throw new ArgumentException($"MixtureOfExperts sizes must be positive, but hidden = {hidden}, inner = {inner}, experts = {experts}.");
            if (topK < 1 || topK > experts)
                throw new ArgumentException($"MixtureOfExperts routes each token to top-k = {topK} experts, which must be between 1 and the {experts} experts.", nameof(topK));
            if (!(capacityFactor >= 0) || double.IsInfinity(capacityFactor))
                throw new ArgumentException($"MixtureOfExperts capacity factor must be 0 (dropless) or positive and finite, but it is {capacityFactor}.", nameof(capacityFactor));
            Hidden = hidden;
            Inner = inner;
            Experts = experts;
            TopK = topK;
            CapacityFactor = capacityFactor;
            _gate = nn.Linear(hidden, experts, hasBias: false, device: device, dtype: dtype);
            _experts = new ModuleList<ExpertFeedForward>(
                Enumerable.Range(0, checked((int)experts)).Select(_ => new ExpertFeedForward(hidden, inner, activation, dtype, device)).ToArray());
            RegisterComponents();
        }

        /// <summary>Model width.</summary>
        public long Hidden { get; }

        /// <summary>Inner width of each expert.</summary>
        public long Inner { get; }

        /// <summary>Number of experts.</summary>
        public long Experts { get; }

        /// <summary>Experts each token runs through.</summary>
        public long TopK { get; }

        /// <summary>0: dropless; otherwise the capacity factor.</summary>
        public double CapacityFactor { get; }

        /// <summary>The router, <c>hidden → experts</c>, bias-free.</summary>
        public Linear gate => _gate;

        /// <summary>The experts, in router order.</summary>
        public ModuleList<ExpertFeedForward> experts => _experts;

        /// <summary>
        /// The load-balancing loss of the last training forward (Switch Transformer eq. 4, as Hugging Face Mixtral computes it for
        /// top-k): <c>Experts · Σ_e f_e · P_e</c>, with <c>f_e</c> the routes to expert <c>e</c> per token (before capacity) and <c>P_e</c>
        /// the mean router probability. Add <c>coefficient · LoadBalancingLoss</c> to the loss (Mixtral uses 0.02). The module owns it
        /// (no dispose scope does) until its next forward, which replaces it; null after an eval or no-grad forward.
        /// </summary>
        public Tensor? LoadBalancingLoss { get; private set; }

        /// <inheritdoc />
        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                LoadBalancingLoss?.Dispose();
                LoadBalancingLoss = null;
            }
            base.Dispose(disposing);
        }

        /// <summary>Rows an expert takes from <paramref name="tokens"/> tokens: <c>ceil(CapacityFactor · tokens · TopK / Experts)</c>; every route when dropless.</summary>
        public long Capacity(long tokens) =>
            CapacityFactor == 0 ? tokens * TopK : Math.Min(tokens, (long)Math.Ceiling(CapacityFactor * tokens * TopK / Experts));

        /// <summary>Routes each position to its top-k experts and sums their weighted outputs.</summary>
        /// <param name="input"><c>[..., hidden]</c>.</param>
        /// <returns><c>[..., hidden]</c>.</returns>
        /// <exception cref="ArgumentException">The last dimension of <paramref name="input"/> is not <see cref="Hidden"/>.</exception>
        public override Tensor forward(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            if (input.dim() == 0 || input.shape[^1] != Hidden)
                throw new ArgumentException(
                    $"MixtureOfExperts(hidden {Hidden}) expects input [..., {Hidden}] but got [{string.Join(", ", input.shape)}].", nameof(input));

            using var scope = torch.NewDisposeScope();
            var flat = input.reshape(-1, Hidden);
            var tokens = flat.shape[0];
            if (tokens == 0)
            {
                LoadBalancingLoss?.Dispose();
                LoadBalancingLoss = null;
                return scope.MoveToOuter(torch.zeros_like(input));
            }
            // Router in fp32 as Mixtral (softmax(router_logits, dtype=float)); top-k weights renormalised to sum to 1.
            var probabilities = _gate.call(flat).softmax(-1, ScalarType.Float32);
            var (top, chosen) = probabilities.topk(checked((int)TopK), dim: -1);
            var weights = (top / top.sum(-1, keepdim: true)).to(input.dtype);

            // (token, choice) pairs sorted by expert, stable so that each expert sees its tokens in order (capacity keeps the first).
            var choices = chosen.reshape(-1);
            var (_, order) = choices.sort(0, descending: false, stable: true);
            var counts = choices.bincount(null, Experts).cpu().data<long>().ToArray();
            var capacity = Capacity(tokens);
            var kept = new long[Experts];
            if (counts.Any(c => c > capacity))
            {
                // Keep each expert's first `capacity` rows of the sorted order.
                var pieces = new System.Collections.Generic.List<Tensor>();
                var start = 0L;
                for (var e = 0; e < Experts; e++)
                {
                    kept[e] = Math.Min(counts[e], capacity);
                    if (kept[e] > 0)
                        pieces.Add(order.narrow(0, start, kept[e]));
                    start += counts[e];
                }
                order = pieces.Count == 0 ? order.narrow(0, 0, 0) : torch.cat(pieces, 0);
            }
            else
            {
                Array.Copy(counts, kept, counts.Length);
            }
            var tokenOfRow = order.div(TopK, RoundingMode.floor);
            var routed = flat.index_select(0, tokenOfRow);
            var routedWeights = weights.reshape(-1).index_select(0, order).unsqueeze(1);

            var output = torch.zeros(tokens, Hidden, dtype: input.dtype, device: input.device);
            var row = 0L;
            for (var e = 0; e < Experts; e++)
            {
                if (kept[e] == 0)
                    continue;
                // Each expert's output and weighted output are freed as soon as they are added (autograd keeps what it saved).
                using var expertScope = torch.NewDisposeScope();
                var expertOutput = _experts[e].call(routed.narrow(0, row, kept[e]));
                output.index_add_(0, tokenOfRow.narrow(0, row, kept[e]), expertOutput * routedWeights.narrow(0, row, kept[e]), 1);
                row += kept[e];
            }

            LoadBalancingLoss?.Dispose();
            LoadBalancingLoss = null;
            if (training && torch.is_grad_enabled())
            {
                // Out of every dispose scope (the generated layer's scope ends before the loss is built): this module owns it until
                // the next forward. Only its own mean/mul/sum nodes outlive the backward, holding [experts]-sized tensors.
                var fraction = torch.tensor(counts, device: input.device).to(ScalarType.Float32) / tokens;
                LoadBalancingLoss = ((fraction * probabilities.mean(new long[] { 0 })).sum() * Experts).DetachFromDisposeScope();
            }
            return scope.MoveToOuter(output.reshape(input.shape));
        }
    }
}
