using System;
using System.Collections.Generic;
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
    /// <remarks>State_dict: the shard's buffers and (column) bias under <c>shard.</c>; a row-parallel bias as <c>bias</c>.</remarks>
    public sealed class QuantizedParallelLinear : nn.Module<Tensor, Tensor>
    {
        private readonly QuantizedLinear shard;
        private readonly Parameter? bias;

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
            : base(nameof(QuantizedParallelLinear))
        {
            ArgumentNullException.ThrowIfNull(options);
            var column = style == ParallelLinearStyle.Column;
            options.RequireDivisible(column ? outFeatures : inFeatures, column ? $"the output features of '{name}'" : $"the input features of '{name}'");
            Options = options;
            Style = style;
            InFeatures = inFeatures;
            OutFeatures = outFeatures;
            GatherOutput = gatherOutput && column;
            Slice = Parallel.Shard.Even(column ? 0 : 1, column ? outFeatures : inFeatures, options.Rank, options.Degree);
            shard = new QuantizedLinear(column ? inFeatures : inFeatures / options.Degree, column ? outFeatures / options.Degree : outFeatures,
                hasBias && column, kind, groupSize, doubleQuant, computeDtype, device);
            if (hasBias && !column)
                bias = new Parameter(zeros(outFeatures, dtype: computeDtype, device: device));
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
                y = shard.call(ColumnParallelLinear.Enter(input, Options));
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

        private void LoadSlices(Tensor weightSlice, Tensor? fullBias)
        {
            var column = Style == ParallelLinearStyle.Column;
            shard.QuantizeFrom(weightSlice, column && fullBias is not null ? fullBias.narrow(0, Slice.Start, Slice.Length) : null);
            if (!column && bias is not null && fullBias is not null)
                using (no_grad()) bias.copy_(fullBias);
        }
    }
}
