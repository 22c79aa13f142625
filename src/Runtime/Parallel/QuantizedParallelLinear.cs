using System;
using System.Collections.Generic;
using ModelGen.Distributed;
using ModelGen.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    /// <summary>How a linear layer is split across the tensor-parallel ranks.</summary>
    public enum ParallelLinearStyle
    {
        /// <summary>Output features split (<see cref="ColumnParallelLinear"/>).</summary>
        Column,
        /// <summary>Input features split (<see cref="RowParallelLinear"/>).</summary>
        Row,
    }

    /// <summary>
    /// A column- or row-parallel linear layer whose shard is a <see cref="QuantizedLinear"/>: each rank quantizes only its slice,
    /// so int8 rows, int4 groups and NF4 blocks are those of the unsharded quantized layer whenever the slice boundaries fall on
    /// group boundaries (a row-parallel shard's <c>in/t</c> must be a multiple of the group size; the quantized layer's own check
    /// says so). The regions are <see cref="ColumnParallelLinear"/>'s and <see cref="RowParallelLinear"/>'s; a row-parallel bias is
    /// whole, outside the shard, added once after the reduction.
    /// </summary>
    /// <remarks>
    /// State_dict: the shard's buffers and (column) bias under <c>shard.</c>; a row-parallel bias as <c>bias</c>, and so is the bias
    /// slice of a column-parallel layer whose slice several ranks hold (replicated key/value heads of
    /// <see cref="TensorParallelAttention"/>): its gradient is summed over those ranks, so it lives outside the shard.
    /// </remarks>
    public sealed class QuantizedParallelLinear : nn.Module<Tensor, Tensor>, ITensorParallelModule
    {
        private readonly QuantizedLinear shard;
        private readonly Parameter? bias;
        private readonly ProcessGroup? _replicaGroup;
        private readonly Dictionary<string, ShardSpec> _shards = new();

        /// <summary>Creates this rank's quantized slice, drawn by <see cref="ShardedInit"/> (the same full weight at every degree) and quantized.</summary>
        /// <param name="inFeatures">Input features of the full layer.</param>
        /// <param name="outFeatures">Output features of the full layer.</param>
        /// <param name="style">Column (outputs split) or row (inputs split).</param>
        /// <param name="options">Tensor-parallel group, sequence parallelism, seed.</param>
        /// <param name="name">State_dict path; seeds the initialization.</param>
        /// <param name="hasBias">Whether the layer has a bias.</param>
        /// <param name="kind">Int8, Int4 or NF4.</param>
        /// <param name="groupSize">Int4 group or NF4 block; 0 = the kind's default.</param>
        /// <param name="doubleQuant">NF4 double quantization.</param>
        /// <param name="computeDtype">Dtype of the dequantized weight and the output.</param>
        /// <param name="gatherOutput">Column only: all-gather the output to full width.</param>
        /// <param name="device">Device.</param>
        public QuantizedParallelLinear(long inFeatures, long outFeatures, ParallelLinearStyle style, TensorParallelOptions options, string name, bool hasBias,
            QuantKind kind, int groupSize = 0, bool doubleQuant = false, ScalarType computeDtype = ScalarType.Float32, bool gatherOutput = false, Device? device = null)
            : this(inFeatures, outFeatures, style, options, name, hasBias, new ProjectionQuantization(kind, groupSize, doubleQuant), computeDtype, gatherOutput, device,
                Even(inFeatures, outFeatures, style, options, name), null)
        {
        }

        /// <summary>
        /// A column-parallel slice chosen by the caller (<paramref name="slice"/>: key/value heads, possibly held by the several ranks
        /// of <paramref name="replicaGroup"/>), or a row-parallel one; the blocks of <see cref="TensorParallelAttention"/> and
        /// <see cref="TensorParallelFeedForward"/> build their projections with it.
        /// </summary>
        internal QuantizedParallelLinear(long inFeatures, long outFeatures, ParallelLinearStyle style, TensorParallelOptions options, string name, bool hasBias,
            ProjectionQuantization quantization, ScalarType computeDtype, bool gatherOutput, Device? device, ShardSpec slice, ProcessGroup? replicaGroup)
            : base(nameof(QuantizedParallelLinear))
        {
            ArgumentNullException.ThrowIfNull(options);
            ArgumentNullException.ThrowIfNull(quantization);
            var column = style == ParallelLinearStyle.Column;
            Options = options;
            Style = style;
            InFeatures = inFeatures;
            OutFeatures = outFeatures;
            GatherOutput = gatherOutput && column;
            Slice = slice;
            _replicaGroup = column ? replicaGroup : null;
            var biasOutside = hasBias && (!column || _replicaGroup is not null);
            try
            {
                shard = new QuantizedLinear(column ? inFeatures : slice.Length, column ? slice.Length : outFeatures,
                    hasBias && !biasOutside, quantization.Kind, quantization.GroupSize, quantization.DoubleQuant, computeDtype, device);
            }
            catch (ArgumentException e)
            {
                // A row-parallel slice has in/t input features: a group or block size must divide them at this degree (MG0212).
                throw new ArgumentException($"'{name}' cannot be quantized as {quantization.Kind} on this rank's slice ([{(column ? slice.Length : outFeatures)}, " +
                    $"{(column ? inFeatures : slice.Length)}] at tensor-parallel degree {options.Degree}): {e.Message} Choose a degree that leaves whole groups on each rank, " +
                    "or a smaller group size (docs/tensor-parallel.md).", nameof(options), e);
            }
            if (biasOutside)
                bias = new Parameter(zeros(column ? slice.Length : outFeatures, dtype: computeDtype, device: device));
            if (hasBias && column) // a row-parallel bias is whole on every rank
                _shards[biasOutside ? "bias" : "shard.bias"] = slice;
            var seed = options.SeedFor(name);
            var bound = ShardedInit.LinearBound(inFeatures);
            using var weight = ShardedInit.Uniform(outFeatures, inFeatures, Slice, bound, seed, ScalarType.Float32, device);
            using var fullBiasRow = hasBias ? ShardedInit.Uniform(1, outFeatures, new ShardSpec(1, 0, outFeatures, outFeatures), bound, seed + 1, ScalarType.Float32, device) : null;
            RegisterComponents();
            LoadSlices(weight, fullBiasRow?.reshape(outFeatures));
        }

        /// <summary>The options the layer was built with.</summary>
        public TensorParallelOptions Options { get; }

        /// <summary>Column or row.</summary>
        public ParallelLinearStyle Style { get; }

        /// <summary>Input features of the full layer.</summary>
        public long InFeatures { get; }

        /// <summary>Output features of the full layer.</summary>
        public long OutFeatures { get; }

        /// <summary>Whether a column-parallel output is gathered to full width.</summary>
        public bool GatherOutput { get; }

        /// <summary>This rank's slice of the full weight.</summary>
        public ShardSpec Slice { get; }

        /// <summary>This rank's quantized shard.</summary>
        public QuantizedLinear Shard => shard;

        /// <summary>The bias kept outside the shard (row-parallel: whole; column-parallel with replicas: this rank's slice), or null.</summary>
        public Parameter? Bias => bias;

        /// <summary>The trainable slices (the column-parallel bias); the quantized weight is frozen buffers, sliced as <see cref="Slice"/> says.</summary>
        public IReadOnlyDictionary<string, ShardSpec> Shards => _shards;

        /// <summary>Quantizes this rank's slice of a full-precision weight (and bias), e.g. from a full state_dict; nothing else is copied.</summary>
        /// <param name="fullWeight">The full <c>[out, in]</c> weight.</param>
        /// <param name="fullBias">The full bias, or null.</param>
        public void LoadFull(Tensor fullWeight, Tensor? fullBias = null)
        {
            ArgumentNullException.ThrowIfNull(fullWeight);
            LoadSlices(Parallel.Shard.Slice(fullWeight, Slice), fullBias);
        }

        /// <summary>Enters the region, multiplies the quantized shard, leaves the region.</summary>
        /// <param name="input">As <see cref="ColumnParallelLinear"/> or <see cref="RowParallelLinear"/> (row input arrives split).</param>
        /// <returns>As the float layer of the same style.</returns>
        public override Tensor forward(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            using var scope = NewDisposeScope();
            Tensor y;
            if (Style == ParallelLinearStyle.Column)
            {
                y = ForwardLocal(ColumnParallelLinear.Enter(input, Options));
                if (GatherOutput) y = TensorParallelRegion.GatherLastDim(y, Options.Group);
            }
            else
            {
                var partial = shard.call(input);
                y = Options.SequenceParallel ? TensorParallelRegion.ScatterSequence(partial, Options.Group) : TensorParallelRegion.ReduceFrom(partial, Options.Group);
                if (bias is not null) y = y + ReplicatedParameter.Use(bias, Options);
            }
            return scope.MoveToOuter(y);
        }

        /// <summary>Column-parallel only: the projection of an input already inside the region (q, k and v enter once).</summary>
        /// <param name="inputInRegion"><c>[..., in]</c>, the same on every rank.</param>
        /// <returns>This rank's output slice, <c>[..., out/t]</c>.</returns>
        /// <exception cref="InvalidOperationException">A row-parallel layer.</exception>
        public Tensor ForwardLocal(Tensor inputInRegion)
        {
            ArgumentNullException.ThrowIfNull(inputInRegion);
            if (Style != ParallelLinearStyle.Column)
                throw new InvalidOperationException("ForwardLocal projects a column-parallel slice; a row-parallel layer takes its split input through forward.");
            var y = shard.call(inputInRegion);
            // A slice several ranks hold gets its bias gradient summed over them (replicated key/value heads).
            return bias is null ? y : y + TensorParallelRegion.CopyTo(bias, _replicaGroup!);
        }

        /// <inheritdoc/>
        protected override void Dispose(bool disposing)
        {
            if (disposing) _replicaGroup?.Dispose();
            base.Dispose(disposing);
        }

        private void LoadSlices(Tensor weightSlice, Tensor? fullBias)
        {
            var column = Style == ParallelLinearStyle.Column;
            var biasSlice = column && fullBias is not null ? fullBias.narrow(0, Slice.Start, Slice.Length) : fullBias;
            shard.QuantizeFrom(weightSlice, shard.bias is not null ? biasSlice : null);
            if (bias is not null && biasSlice is not null)
                using (no_grad()) bias.copy_(biasSlice);
        }

        private static ShardSpec Even(long inFeatures, long outFeatures, ParallelLinearStyle style, TensorParallelOptions options, string name)
        {
            ArgumentNullException.ThrowIfNull(options);
            var column = style == ParallelLinearStyle.Column;
            options.RequireDivisible(column ? outFeatures : inFeatures, column ? $"the output features of '{name}'" : $"the input features of '{name}'");
            return Parallel.Shard.Even(column ? 0 : 1, column ? outFeatures : inFeatures, options.Rank, options.Degree);
        }
    }
}
