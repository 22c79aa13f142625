using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Distributed;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    /// <summary>
    /// A linear layer <c>y = x Aᵀ + b</c> whose output features are split across the tensor-parallel ranks (Shoeybi et al. 2019,
    /// §3, "column parallel"): rank <c>i</c> holds rows <c>[i·out/t, (i+1)·out/t)</c> of <c>A</c> and of <c>b</c> and produces that slice
    /// of <c>y</c>. The state_dict names are nn.Linear's (<c>weight</c>, <c>bias</c>), holding this rank's slice.
    /// </summary>
    /// <remarks>
    /// The input enters through <see cref="TensorParallelRegion.CopyTo"/> (its gradient is summed over the ranks in backward), or
    /// with sequence parallelism as a sequence shard that is all-gathered for the product and again in backward, so only the shard
    /// is kept between them (<see cref="GatheredLinearFunction"/>). Only the weight's slice is ever allocated.
    /// </remarks>
    public sealed class ColumnParallelLinear : nn.Module<Tensor, Tensor>, ITensorParallelModule
    {
        private readonly Parameter weight;
        private readonly Parameter? bias;
        private readonly ProcessGroup? _replicaGroup;
        private readonly Dictionary<string, ShardSpec> _shards = new();

        /// <summary>Creates this rank's slice, initialized as nn.Linear is (U(±1/√in)) by <see cref="ShardedInit"/>.</summary>
        /// <param name="inFeatures">Input features (whole on every rank).</param>
        /// <param name="outFeatures">Output features of the full layer; the degree must divide it.</param>
        /// <param name="options">Tensor-parallel group, sequence parallelism, seed.</param>
        /// <param name="name">The layer's state_dict path (e.g. <c>layers.0.mlp.up_proj</c>): it seeds the initialization.</param>
        /// <param name="hasBias">Whether the layer has a bias.</param>
        /// <param name="gatherOutput">All-gather the output's last dimension, so every rank gets the whole <c>y</c>.</param>
        /// <param name="dtype">Element type of the weights.</param>
        /// <param name="device">Device of the weights.</param>
        /// <exception cref="ArgumentException">The degree does not divide <paramref name="outFeatures"/>.</exception>
        public ColumnParallelLinear(long inFeatures, long outFeatures, TensorParallelOptions options, string name, bool hasBias = true,
            bool gatherOutput = false, ScalarType? dtype = null, Device? device = null)
            : this(inFeatures, outFeatures, options, name, hasBias, gatherOutput, Even(outFeatures, options, name), null, dtype, device)
        {
        }

        internal ColumnParallelLinear(long inFeatures, long outFeatures, TensorParallelOptions options, string name, bool hasBias,
            bool gatherOutput, ShardSpec shard, ProcessGroup? replicaGroup, ScalarType? dtype, Device? device) : base(nameof(ColumnParallelLinear))
        {
            ArgumentNullException.ThrowIfNull(options);
            Options = options;
            InFeatures = inFeatures;
            OutFeatures = outFeatures;
            GatherOutput = gatherOutput;
            _replicaGroup = replicaGroup;
            var seed = options.SeedFor(name);
            var bound = ShardedInit.LinearBound(inFeatures);
            weight = new Parameter(ShardedInit.Uniform(outFeatures, inFeatures, shard, bound, seed, dtype, device));
            _shards["weight"] = shard;
            if (hasBias)
            {
                var biasShard = shard with { Dim = 1 };
                using var row = ShardedInit.Uniform(1, outFeatures, biasShard, bound, seed + 1, dtype, device);
                bias = new Parameter(row.reshape(shard.Length).clone());
                _shards["bias"] = shard with { Dim = 0 };
            }
            RegisterComponents();
        }

        /// <summary>The options the layer was built with.</summary>
        public TensorParallelOptions Options { get; }

        /// <summary>Input features.</summary>
        public long InFeatures { get; }

        /// <summary>Output features of the full layer.</summary>
        public long OutFeatures { get; }

        /// <summary>Whether the output is gathered to full width.</summary>
        public bool GatherOutput { get; }

        /// <summary>This rank's slice of the weight, <c>[out/t, in]</c>.</summary>
        public Parameter Weight => weight;

        /// <summary>This rank's slice of the bias, or null.</summary>
        public Parameter? Bias => bias;

        /// <inheritdoc/>
        public IReadOnlyDictionary<string, ShardSpec> Shards => _shards;

        /// <summary>Enters the region (copy, or sequence all-gather), projects, and gathers the output if asked.</summary>
        /// <param name="input"><c>[..., in]</c>; with sequence parallelism <c>[batch, seq/t, in]</c>.</param>
        /// <returns><c>[..., out/t]</c>, or <c>[..., out]</c> with <see cref="GatherOutput"/>.</returns>
        public override Tensor forward(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            using var scope = NewDisposeScope();
            var local = Options.SequenceParallel ? ProjectShards(input, this)[0] : ForwardLocal(Enter(input, Options));
            return scope.MoveToOuter(GatherOutput ? TensorParallelRegion.GatherLastDim(local, Options.Group) : local);
        }

        /// <summary>The projection alone, for an input already inside the region (several projections of one input enter once).</summary>
        /// <param name="inputInRegion">The region's input, <c>[..., in]</c> on every rank.</param>
        /// <returns>This rank's output slice, <c>[..., out/t]</c>.</returns>
        public Tensor ForwardLocal(Tensor inputInRegion)
        {
            ArgumentNullException.ThrowIfNull(inputInRegion);
            if (inputInRegion.shape[^1] != InFeatures)
                throw new ArgumentException($"ColumnParallelLinear({InFeatures} → {OutFeatures}) expects input [..., {InFeatures}] but got [{string.Join(", ", inputInRegion.shape)}].", nameof(inputInRegion));
            return nn.functional.linear(inputInRegion, EffectiveWeight(), EffectiveBias());
        }

        /// <summary>
        /// With sequence parallelism: projects a sequence shard with several column-parallel layers that share it (q, k, v; gate, up)
        /// through one all-gather, keeping only the shard for backward (<see cref="GatheredLinearFunction"/>).
        /// </summary>
        internal static Tensor[] ProjectShards(Tensor shard, params ColumnParallelLinear[] layers)
        {
            var output = GatheredLinearFunction.Apply(shard, layers.Select(l => l.EffectiveWeight()).ToArray(), layers.Select(l => l.EffectiveBias()).ToArray(), layers[0].Options.Group);
            return layers.Length == 1 ? new[] { output } : output.split(layers.Select(l => l.weight.shape[0]).ToArray(), -1);
        }

        // A slice several ranks hold (replicated key/value heads) gets its gradient summed over those ranks.
        private Tensor EffectiveWeight() => _replicaGroup is null ? weight : TensorParallelRegion.CopyTo(weight, _replicaGroup);

        private Tensor? EffectiveBias() => bias is null || _replicaGroup is null ? bias : TensorParallelRegion.CopyTo(bias, _replicaGroup);

        /// <summary>How a replicated activation enters a region: copy, or all-gather of the sequence shards.</summary>
        internal static Tensor Enter(Tensor input, TensorParallelOptions options) => options.SequenceParallel
            ? TensorParallelRegion.GatherSequence(input, options.Group)
            : TensorParallelRegion.CopyTo(input, options.Group);

        private static ShardSpec Even(long outFeatures, TensorParallelOptions options, string name)
        {
            ArgumentNullException.ThrowIfNull(options);
            options.RequireDivisible(outFeatures, $"the output features of '{name}'");
            return Shard.Even(0, outFeatures, options.Rank, options.Degree);
        }
    }
}
