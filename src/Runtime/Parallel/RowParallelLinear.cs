using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    /// <summary>
    /// A linear layer <c>y = x Aᵀ + b</c> whose input features are split across the tensor-parallel ranks (Shoeybi et al. 2019,
    /// §3, "row parallel" of <c>Aᵀ</c>): rank <c>i</c> holds columns <c>[i·in/t, (i+1)·in/t)</c> of <c>A</c>, multiplies its slice of
    /// <c>x</c>, and the partial products are summed by an all-reduce (or reduce-scattered to sequence shards with sequence
    /// parallelism). The bias is whole on every rank and added once, after the reduction.
    /// </summary>
    public sealed class RowParallelLinear : nn.Module<Tensor, Tensor>, ITensorParallelModule
    {
        private readonly Parameter weight;
        private readonly Parameter? bias;
        private readonly Dictionary<string, ShardSpec> _shards = new();

        /// <summary>Creates this rank's slice, initialized as nn.Linear is by <see cref="ShardedInit"/>.</summary>
        /// <param name="inFeatures">Input features of the full layer; the degree must divide it.</param>
        /// <param name="outFeatures">Output features (whole on every rank).</param>
        /// <param name="options">Tensor-parallel group, sequence parallelism, seed.</param>
        /// <param name="name">The layer's state_dict path: it seeds the initialization.</param>
        /// <param name="hasBias">Whether the layer has a bias.</param>
        /// <param name="inputIsParallel">Whether the input arrives already split (a column-parallel layer's output); otherwise it is split here.</param>
        /// <param name="dtype">Element type of the weights.</param>
        /// <param name="device">Device of the weights.</param>
        /// <exception cref="ArgumentException">The degree does not divide <paramref name="inFeatures"/>.</exception>
        public RowParallelLinear(long inFeatures, long outFeatures, TensorParallelOptions options, string name, bool hasBias = true,
            bool inputIsParallel = true, ScalarType? dtype = null, Device? device = null) : base(nameof(RowParallelLinear))
        {
            ArgumentNullException.ThrowIfNull(options);
            options.RequireDivisible(inFeatures, $"the input features of '{name}'");
            Options = options;
            InFeatures = inFeatures;
            OutFeatures = outFeatures;
            InputIsParallel = inputIsParallel;
            var seed = options.SeedFor(name);
            var bound = ShardedInit.LinearBound(inFeatures);
            var shard = Shard.Even(1, inFeatures, options.Rank, options.Degree);
            weight = new Parameter(ShardedInit.Uniform(outFeatures, inFeatures, shard, bound, seed, dtype, device));
            _shards["weight"] = shard;
            if (hasBias)
            {
                using var row = ShardedInit.Uniform(1, outFeatures, new ShardSpec(1, 0, outFeatures, outFeatures), bound, seed + 1, dtype, device);
                bias = new Parameter(row.reshape(outFeatures).clone());
            }
            RegisterComponents();
        }

        /// <summary>The options the layer was built with.</summary>
        public TensorParallelOptions Options { get; }

        /// <summary>Input features of the full layer.</summary>
        public long InFeatures { get; }

        /// <summary>Output features.</summary>
        public long OutFeatures { get; }

        /// <summary>Whether the input arrives split along its last dimension.</summary>
        public bool InputIsParallel { get; }

        /// <summary>This rank's slice of the weight, <c>[out, in/t]</c>.</summary>
        public Parameter Weight => weight;

        /// <summary>The whole bias, or null.</summary>
        public Parameter? Bias => bias;

        /// <inheritdoc/>
        public IReadOnlyDictionary<string, ShardSpec> Shards => _shards;

        /// <summary>Multiplies this rank's slice, sums over the ranks, adds the bias.</summary>
        /// <param name="input"><c>[..., in/t]</c> (or <c>[..., in]</c> when the input is not parallel).</param>
        /// <returns><c>[..., out]</c>; with sequence parallelism <c>[batch, seq/t, out]</c>.</returns>
        public override Tensor forward(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            using var scope = NewDisposeScope();
            var x = InputIsParallel ? input : TensorParallelRegion.SplitLastDim(input, Options.Group);
            if (x.shape[^1] != InFeatures / Options.Degree)
                throw new ArgumentException($"RowParallelLinear({InFeatures} → {OutFeatures}, degree {Options.Degree}) expects input [..., {InFeatures / Options.Degree}] but got [{string.Join(", ", x.shape)}].", nameof(input));
            var partial = nn.functional.linear(x, weight);
            var y = Options.SequenceParallel
                ? TensorParallelRegion.ScatterSequence(partial, Options.Group)
                : TensorParallelRegion.ReduceFrom(partial, Options.Group);
            if (bias is not null)
                y = y + ReplicatedParameter.Use(bias, Options);
            return scope.MoveToOuter(y);
        }
    }

    /// <summary>Parameters whole on every rank but used on sequence shards: their gradients must be summed over the group.</summary>
    internal static class ReplicatedParameter
    {
        /// <summary>With sequence parallelism, routes <paramref name="parameter"/> through a copy whose backward all-reduces its gradient.</summary>
        public static Tensor Use(Parameter parameter, TensorParallelOptions options) =>
            options.SequenceParallel && options.Degree > 1 ? TensorParallelRegion.CopyTo(parameter, options.Group) : parameter;
    }
}
