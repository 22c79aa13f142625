using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    /// <summary>
    /// RMSNorm (Zhang &amp; Sennrich 2019, eq. 4) computed exactly as <see cref="Nn.RmsNorm"/> (fp32 statistics, cast back, then
    /// scaled), for a tensor-parallel model: with sequence parallelism it normalizes this rank's sequence shard and its
    /// <c>weight</c>'s gradient is summed over the group in backward (Korthikanti et al. 2022, §4.2.2). State_dict key <c>weight</c>.
    /// </summary>
    public sealed class ParallelRmsNorm : nn.Module<Tensor, Tensor>
    {
        private readonly Parameter weight;

        /// <summary>Creates the norm with a scale of ones.</summary>
        /// <param name="hidden">Normalized width.</param>
        /// <param name="options">Tensor-parallel group and sequence parallelism.</param>
        /// <param name="eps">Added to the mean of squares.</param>
        /// <param name="dtype">Element type of the scale.</param>
        /// <param name="device">Device of the scale.</param>
        public ParallelRmsNorm(long hidden, TensorParallelOptions options, double eps = 1e-6, ScalarType? dtype = null, Device? device = null)
            : base(nameof(ParallelRmsNorm))
        {
            Options = options ?? throw new ArgumentNullException(nameof(options));
            Eps = eps;
            weight = new Parameter(ones(hidden, dtype: dtype, device: device));
            RegisterComponents();
        }

        /// <summary>The options the norm was built with.</summary>
        public TensorParallelOptions Options { get; }

        /// <summary>Added to the mean of squares.</summary>
        public double Eps { get; }

        /// <summary>The scale.</summary>
        public Parameter Weight => weight;

        /// <summary>Normalizes the last dimension.</summary>
        /// <param name="input"><c>[..., hidden]</c>.</param>
        /// <returns>The same shape.</returns>
        public override Tensor forward(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            using var scope = NewDisposeScope();
            var x = input.to(ScalarType.Float32);
            var normalized = (x * (x.square().mean(new long[] { -1 }, keepdim: true) + Eps).rsqrt()).to(input.dtype);
            return scope.MoveToOuter(ReplicatedParameter.Use(weight, Options) * normalized);
        }
    }

    /// <summary>
    /// LayerNorm (Ba et al. 2016) for a tensor-parallel model, with sequence parallelism's gradient sum of its
    /// <c>weight</c> and <c>bias</c> (see <see cref="ParallelRmsNorm"/>). State_dict keys <c>weight</c>, <c>bias</c>, as nn.LayerNorm's.
    /// </summary>
    public sealed class ParallelLayerNorm : nn.Module<Tensor, Tensor>
    {
        private readonly Parameter weight;
        private readonly Parameter bias;

        /// <summary>Creates the norm with scale 1 and shift 0.</summary>
        /// <param name="hidden">Normalized width.</param>
        /// <param name="options">Tensor-parallel group and sequence parallelism.</param>
        /// <param name="eps">Added to the variance.</param>
        /// <param name="dtype">Element type.</param>
        /// <param name="device">Device.</param>
        public ParallelLayerNorm(long hidden, TensorParallelOptions options, double eps = 1e-5, ScalarType? dtype = null, Device? device = null)
            : base(nameof(ParallelLayerNorm))
        {
            Options = options ?? throw new ArgumentNullException(nameof(options));
            Hidden = hidden;
            Eps = eps;
            weight = new Parameter(ones(hidden, dtype: dtype, device: device));
            bias = new Parameter(zeros(hidden, dtype: dtype, device: device));
            RegisterComponents();
        }

        /// <summary>The options the norm was built with.</summary>
        public TensorParallelOptions Options { get; }

        /// <summary>Normalized width.</summary>
        public long Hidden { get; }

        /// <summary>Added to the variance.</summary>
        public double Eps { get; }

        /// <summary>Normalizes the last dimension.</summary>
        /// <param name="input"><c>[..., hidden]</c>.</param>
        /// <returns>The same shape.</returns>
        public override Tensor forward(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            using var scope = NewDisposeScope();
            var y = nn.functional.layer_norm(input, new[] { Hidden }, ReplicatedParameter.Use(weight, Options), ReplicatedParameter.Use(bias, Options), Eps);
            return scope.MoveToOuter(y);
        }
    }
}
