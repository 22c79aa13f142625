using System;
using ModelGen.Distributed;
using ModelGen.Nn;
using ModelGen.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    /// <summary>
    /// <see cref="Attention"/> split by heads across the tensor-parallel ranks (Shoeybi et al. 2019, §3, Fig. 3b): each rank
    /// projects, rotates and attends over <c>heads/t</c> query heads with <c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c> column-parallel,
    /// and <c>o_proj</c> row-parallel sums the ranks' contexts. State_dict names and head order are <see cref="Attention"/>'s, so its
    /// full state_dict loads slice by slice (<see cref="TensorParallelState.LoadFull"/>).
    /// </summary>
    /// <remarks>
    /// Key/value heads: with <c>kvHeads ≥ t</c> each rank holds <c>kvHeads/t</c> of them (the degree must divide kvHeads). With fewer
    /// key/value heads than ranks (GQA with small kvHeads, MQA) each rank holds one, replicated on <c>t/kvHeads</c> consecutive ranks as
    /// Megatron-LM does (the degree must be a multiple of kvHeads); rank <c>i</c> holds head <c>⌊i·kvHeads/t⌋</c>, which serves exactly its
    /// query heads, and the replicas' gradients for it are summed over those ranks.
    /// </remarks>
    public sealed partial class TensorParallelAttention : nn.Module<Tensor, Tensor>
    {
        // ColumnParallelLinear / RowParallelLinear, or QuantizedParallelLinear with a quantization (TensorParallelAttention.Quantization.cs).
        private readonly nn.Module<Tensor, Tensor> q_proj;
        private readonly nn.Module<Tensor, Tensor> k_proj;
        private readonly nn.Module<Tensor, Tensor> v_proj;
        private readonly nn.Module<Tensor, Tensor> o_proj;
        private readonly RotaryEmbedding? _rotary;
        private readonly ProcessGroup? _replicaGroup;

        /// <summary>Creates this rank's part of the block.</summary>
        /// <param name="hidden">Model width.</param>
        /// <param name="heads">Query heads; the degree must divide it.</param>
        /// <param name="kvHeads">Key/value heads; divides <paramref name="heads"/>; the degree must divide it or be a multiple of it.</param>
        /// <param name="options">Tensor-parallel group, sequence parallelism, seed.</param>
        /// <param name="name">State_dict path of the block; seeds the projections' initialization.</param>
        /// <param name="causal">Whether position i attends only to positions ≤ i.</param>
        /// <param name="rotary">Whether queries and keys get rotary position embedding.</param>
        /// <param name="ropeTheta">Rotary base.</param>
        /// <param name="bias">Whether the projections have biases.</param>
        /// <param name="dropout">Drop probability of the attention weights in training (per-rank streams, <see cref="TensorParallelRng"/>).</param>
        /// <param name="dtype">Element type of the weights.</param>
        /// <param name="device">Device of the weights.</param>
        /// <param name="fused">Use <c>scaled_dot_product_attention</c> when no dropout is drawn (as <see cref="Attention"/>'s <c>fused</c>);
        /// false runs the eager softmax core, which keeps the <c>s × s</c> probabilities for backward.</param>
        /// <param name="quantize">Weight-only quantization of the four projections (as <see cref="Attention"/>'s <c>quantize</c>): each
        /// becomes a <see cref="QuantizedParallelLinear"/> that quantizes only this rank's slice, computing in <paramref name="dtype"/>;
        /// null = float projections.</param>
        /// <exception cref="ArgumentException">A head count does not split across the degree, or a quantization group does not fit a
        /// rank's slice; the message says which.</exception>
        public TensorParallelAttention(long hidden, long heads, long kvHeads, TensorParallelOptions options, string name, bool causal = true,
            bool rotary = false, double ropeTheta = 10000, bool bias = false, double dropout = 0, ScalarType? dtype = null, Device? device = null,
            bool fused = true, ProjectionQuantization? quantize = null)
            : base(nameof(TensorParallelAttention))
        {
            ArgumentNullException.ThrowIfNull(options);
            if (hidden <= 0 || heads <= 0 || kvHeads <= 0 || hidden % heads != 0 || heads % kvHeads != 0)
                throw new ArgumentException($"Attention needs positive sizes with heads dividing hidden and kvHeads dividing heads, but hidden = {hidden}, heads = {heads}, kvHeads = {kvHeads}.");
            options.RequireDivisible(heads, $"the query heads of '{name}'");
            int t = options.Degree, rank = options.Rank;
            if (kvHeads < t && t % kvHeads != 0)
                throw new ArgumentException($"The tensor-parallel degree {t} is neither a divisor nor a multiple of the key/value heads of '{name}' = {kvHeads}: " +
                    "with fewer key/value heads than ranks each head is replicated on degree/kvHeads ranks, so the degree must be a multiple of kvHeads.");
            if (kvHeads >= t) options.RequireDivisible(kvHeads, $"the key/value heads of '{name}'");
            Options = options;
            Fused = fused;
            Hidden = hidden;
            Heads = heads;
            KvHeads = kvHeads;
            HeadDim = hidden / heads;
            Causal = causal;
            Dropout = dropout;
            LocalHeads = heads / t;
            LocalKvHeads = kvHeads >= t ? kvHeads / t : 1;
            KvReplicas = kvHeads >= t ? 1 : (int)(t / kvHeads);
            if (rotary) _rotary = new RotaryEmbedding(HeadDim, ropeTheta);

            var kvRows = kvHeads * HeadDim;
            ShardSpec kvShard;
            if (KvReplicas == 1)
                kvShard = Shard.Even(0, kvRows, rank, t);
            else
            {
                var head = rank / KvReplicas;
                kvShard = new ShardSpec(0, head * HeadDim, HeadDim, kvRows, KvReplicas);
                _replicaGroup = options.Group.Split(head, rank);
            }
            Quantization = quantize;
            var qRows = heads * HeadDim;
            q_proj = Column(hidden, qRows, name + ".q_proj", bias, Shard.Even(0, qRows, rank, t), null, dtype, device);
            k_proj = Column(hidden, kvRows, name + ".k_proj", bias, kvShard, _replicaGroup, dtype, device);
            v_proj = Column(hidden, kvRows, name + ".v_proj", bias, kvShard, _replicaGroup, dtype, device);
            o_proj = Row(qRows, hidden, name + ".o_proj", bias, dtype, device);
            RegisterComponents();
        }

        /// <summary>The options the block was built with.</summary>
        public TensorParallelOptions Options { get; }

        /// <summary>Whether the core runs through <c>scaled_dot_product_attention</c> when no dropout is drawn.</summary>
        public bool Fused { get; }

        /// <summary>Model width.</summary>
        public long Hidden { get; }

        /// <summary>Query heads of the full block.</summary>
        public long Heads { get; }

        /// <summary>Key/value heads of the full block.</summary>
        public long KvHeads { get; }

        /// <summary>Features per head.</summary>
        public long HeadDim { get; }

        /// <summary>Query heads on this rank, <c>heads/t</c>.</summary>
        public long LocalHeads { get; }

        /// <summary>Key/value heads on this rank: <c>kvHeads/t</c>, or 1 when they are replicated.</summary>
        public long LocalKvHeads { get; }

        /// <summary>Ranks holding each key/value head: 1, or <c>t/kvHeads</c> when there are fewer heads than ranks.</summary>
        public int KvReplicas { get; }

        /// <summary>Whether the causal mask applies.</summary>
        public bool Causal { get; }

        /// <summary>Drop probability of the attention weights in training.</summary>
        public double Dropout { get; }

        /// <summary>Attends over the sequence with this rank's heads and sums the ranks' outputs.</summary>
        /// <param name="input"><c>[batch, seq, hidden]</c>, or <c>[batch, seq/t, hidden]</c> with sequence parallelism.</param>
        /// <returns>The same shape as <paramref name="input"/>.</returns>
        public override Tensor forward(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            if (input.dim() != 3 || input.shape[2] != Hidden)
                throw new ArgumentException($"TensorParallelAttention(hidden {Hidden}) expects input [batch, seq, {Hidden}] but got [{string.Join(", ", input.shape)}].", nameof(input));
            if (Binding is { } bound) // a generated model's cached forward (TensorParallelAttention.Cached.cs)
                return forward(input, bound.Cache, bound.Positions, bound.Padding);
            using var scope = NewDisposeScope();
            // With sequence parallelism one all-gather feeds all three projections and only the shard is kept for backward
            // (quantized projections keep no input for a weight gradient; they read the gathered input, as QuantizedParallelLinear).
            var projected = Options.SequenceParallel && Quantization is null
                ? ColumnParallelLinear.ProjectShards(input, (ColumnParallelLinear)q_proj, (ColumnParallelLinear)k_proj, (ColumnParallelLinear)v_proj)
                : Project(ColumnParallelLinear.Enter(input, Options));
            long batch = projected[0].shape[0], seq = projected[0].shape[1];
            var q = projected[0].view(batch, seq, LocalHeads, HeadDim).transpose(1, 2);
            var k = projected[1].view(batch, seq, LocalKvHeads, HeadDim).transpose(1, 2);
            var v = projected[2].view(batch, seq, LocalKvHeads, HeadDim).transpose(1, 2);
            if (_rotary is not null)
            {
                q = _rotary.Apply(q);
                k = _rotary.Apply(k);
            }
            k = RepeatKv(k);
            v = RepeatKv(v);
            // Selective checkpointing recomputes the core (its s² scores and dropout mask) in backward; the dropout stream is
            // seeded from the default generator, which Checkpoint restores, so the recompute draws the same mask.
            var attended = CheckpointCore
                ? Checkpoint.Run(Array.Empty<Parameter>(), qkv => Core(qkv[0], qkv[1], qkv[2]), stack(new[] { q, k, v }))
                : Core(q, k, v);
            var context = attended.transpose(1, 2).reshape(batch, seq, LocalHeads * HeadDim);
            return scope.MoveToOuter(o_proj.call(context));
        }

        /// <summary>
        /// Selective activation checkpointing (Korthikanti et al. 2022, §4.2), as <see cref="Attention.CheckpointCore"/>: when true
        /// the core's activations (the eager core's <c>s²</c> probabilities and dropout mask, per rank for its heads) are not kept but
        /// recomputed during backward. Set by the generator for layers marked <c>[Checkpoint(CheckpointMode.Selective)]</c>.
        /// </summary>
        public bool CheckpointCore { get; set; }

        /// <summary>
        /// What a generated layer marked <c>[Checkpoint(CheckpointMode.Selective)]</c> calls for each attention block: sets
        /// <c>CheckpointCore</c> on a plain <see cref="Attention"/> or a <see cref="TensorParallelAttention"/>, whichever the
        /// constructor built; any other module is left as it is.
        /// </summary>
        /// <param name="attention">The attention block's module.</param>
        public static void CheckpointCoreOf(nn.Module attention)
        {
            if (attention is Attention plain)
                plain.CheckpointCore = true;
            else if (attention is TensorParallelAttention sharded)
                sharded.CheckpointCore = true;
        }

        /// <inheritdoc/>
        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _rotary?.Dispose();
                _replicaGroup?.Dispose();
            }
            base.Dispose(disposing);
        }

        private Tensor[] Project(Tensor x) => new[] { ProjectLocal(q_proj, x), ProjectLocal(k_proj, x), ProjectLocal(v_proj, x) };

        private Tensor Core(Tensor q, Tensor k, Tensor v)
        {
            var dropout = training ? Dropout : 0.0;
            if (dropout == 0 && Fused && SlidingWindow is null)
                return nn.functional.scaled_dot_product_attention(q, k, v, is_casual: Causal);
            // As Attention's eager core: the softmax runs in fp32 but autograd keeps only the probabilities in v's dtype
            // (ScaledMaskedSoftmax), what the memory model counts; fp32 ops here would also keep their fp32 softmax output,
            // 4·b·(a/t)·s² bytes per layer more in 16-bit. q·kᵀ is freed as soon as the softmax has read it.
            Tensor probabilities;
            using (var keysT = k.transpose(-2, -1))
            using (var scores = q.matmul(keysT))
                probabilities = ScaledMaskedSoftmax.Apply(scores, 1.0 / Math.Sqrt(HeadDim), Causal, window: SlidingWindow ?? 0);
            if (dropout > 0)
            {
                using var kept = probabilities;
                probabilities = TensorParallelRng.Dropout(kept, dropout, true, Options, perRank: true);
            }
            using (probabilities)
                return probabilities.matmul(v);
        }

        private Tensor RepeatKv(Tensor x)
        {
            var group = LocalHeads / LocalKvHeads;
            if (group == 1) return x;
            long batch = x.shape[0], seq = x.shape[2];
            return x.unsqueeze(2).expand(batch, LocalKvHeads, group, seq, HeadDim).reshape(batch, LocalHeads, seq, HeadDim);
        }
    }
}
